#!/usr/bin/env python3
# A local delivery agent killed (SIGKILL) while it distributes a post loses
# nothing and sends nothing twice: the delivery runs again with the same
# post number and every member gets exactly one copy.  First killed while
# the list's program holds it (before any copy is queued), then killed as
# soon as the first copies reach the sink (copies being queued).  With
# [plugin ml] verp each member has its own transaction and envelope sender
# NAME-bounces+LOCAL=DOMAIN@DOMAIN; mailing_list_to_kind 0 puts the member
# in To:.  Last, the queue manager itself is killed while the copies are
# being queued: the master starts a new one, the post is distributed
# under its first number, each copy is queued exactly once (one inject
# marker each) and every member gets it.  A remote transaction the kill
# cut between the sink's 250 and the record of it is sent again (SMTP's
# own window, RFC 1047): counted and shown, never a second distribution.
import collections
import os
import re
import signal
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, wait_until

t = TAP()
ACC = {'boss': 'pw'}
N = 200
MEMBERS = ['m%d@remote.test' % i for i in range(N)]


def kill_agents(s):
    pids = s.children('local')
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


with Sink() as sink:
    conf = {'server': {'plugins': 'relay quota ml'},
            'plugin ml': {'max_recipients': '5', 'verp': '1', 'munge_from': '0'},
            'queue': {'retry_interval': '1s', 'keep_retry_interval': '1'}}
    files = {'gateway.dat': 'remote.test,127.0.0.1,%d,tls=none\n' % sink.port}
    with Server(accounts=ACC, conf=conf, files=files, start=False) as s:
        hold = os.path.join(s.home, 'hold.sh')
        marker = os.path.join(s.home, 'mailbox', 'news', 'held')
        with open(hold, 'w') as f:
            f.write('#!/bin/sh\n[ -e held ] && exit 0\n: > held\nexec sleep 30\n')
        os.chmod(hold, 0o755)
        r = s.ctl('ml', 'create', 'news', 'secret', 'boss@localhost', check=False)
        t.is_(r.returncode, 0, 'list created') or t.diag(r.stderr)
        r = s.ctl('ml', 'add', 'news', *MEMBERS, check=False)
        t.is_(r.returncode, 0, '%d members' % N) or t.diag(r.stderr)
        s.ctl('ml', 'set', 'news', 'mailing_list_to_kind=1', 'program=' + hold)
        s.start()
        t.on_fail.append(lambda: t.diag(s.log()[-4000:]))

        def copies(subject):
            got = collections.Counter()
            for x in list(sink.txns):
                if subject in x['data']:
                    for r_ in x['rcpts']:
                        got[r_] += 1
            return got

        with s.smtp() as c:
            c.sendmail('x@example.org', ['news@localhost'],
                       b'From: x@example.org\r\nSubject: first\r\n\r\nbody\r\n')
        t.ok(wait_until(lambda: os.path.exists(marker)), 'the program holds the agent')
        t.ok(len(kill_agents(s)) >= 1, 'agent killed')
        t.ok(s.wait_log(r'local delivery agent \d+ killed by signal 9'), 'the kill is logged')
        t.ok(s.wait_log(r'list news@localhost: post 1 \(\w+\) from <x@example\.org> '
                        r'distributed to 200 members in 200 transactions', timeout=60),
             'distributed on the next try')
        t.ok(wait_until(lambda: sum(copies(b'] first').values()) >= N, timeout=60),
             'all copies at the sink')
        got = copies(b'] first')
        t.is_(sorted(got), sorted(MEMBERS), 'every member got it')
        t.is_(max(got.values()), 1, 'exactly once')
        x = [x for x in sink.txns if x['rcpts'] == ['m7@remote.test']][0]
        t.is_(x['mail'], 'news-bounces+m7=remote.test@localhost', 'VERP envelope sender')
        t.like(x['data'].decode(), r'(?m)^To: news@localhost\r?$', 'To: the list (to_kind 1)')

        # killed while the copies are being queued
        s.ctl('ml', 'set', 'news', 'program=', 'mailing_list_to_kind=0')
        before = len(sink.txns)
        with s.smtp() as c:
            c.sendmail('x@example.org', ['news@localhost'],
                       b'From: x@example.org\r\nSubject: second\r\n\r\nbody\r\n')
        t.ok(wait_until(lambda: len(sink.txns) > before or
                        s.wait_log(r'post 2 \(', timeout=0.01), timeout=60),
             'distribution under way')
        kill_agents(s)
        t.ok(s.wait_log(r'list news@localhost: post 2 \(\w+\) from <x@example\.org> '
                        r'distributed to 200 members', timeout=60), 'post 2 distributed')
        t.ok(wait_until(lambda: sum(copies(b'] second').values()) >= N, timeout=60),
             'all copies at the sink')
        got = copies(b'] second')
        t.is_(sorted(got), sorted(MEMBERS), 'every member got post 2')
        t.is_(max(got.values()), 1, 'exactly once')
        t.ok(not re.search(r'post 3 \(', s.log()), 'no second number was given')
        # how far the agent had come when killed (informational: timing)
        t.diag('post 2: %d copies were queued before the kill' %
               len(re.findall(r'd\d+ for \w+ was queued before', s.log())))
        x = [x for x in sink.txns if x['rcpts'] == ['m9@remote.test'] and b'second' in x['data']][0]
        t.like(x['data'].decode(), r'(?m)^To: m9@remote\.test\r?$', 'To: the member (to_kind 0)')
        t.like(x['data'].decode(), r'(?m)^Subject: \[news0002\] second\r?$', 'number 2')

        # the queue manager killed while the copies are being queued
        before = len(sink.txns)
        with s.smtp() as c:
            c.sendmail('x@example.org', ['news@localhost'],
                       b'From: x@example.org\r\nSubject: third\r\n\r\nbody\r\n')
        t.ok(wait_until(lambda: len(sink.txns) > before or
                        s.wait_log(r'once=news/\w+/d\d+', timeout=0.01) and
                        'third' in s.log(), timeout=60), 'distribution of post 3 under way')

        def ppid(p):
            try:
                with open('/proc/%d/stat' % p) as f:
                    return int(f.read().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                return None
        qm = [p for p in s.children('queue') if ppid(p) == s.proc.pid]
        t.is_(len(qm), 1, 'one queue manager')
        for p in qm:
            os.kill(p, signal.SIGKILL)
        t.ok(s.wait_log(r'queue manager pid %d killed by signal 9' % (qm[0] if qm else 0)),
             'the master saw it die')
        t.ok(s.wait_log(r'list news@localhost: post 3 \((\w+)\) from <x@example\.org> '
                        r'distributed to 200 members', timeout=90), 'post 3 distributed')
        t.ok(wait_until(lambda: len(copies(b'] third')) >= N, timeout=90),
             'every member has a copy')
        got = copies(b'] third')
        t.is_(sorted(got), sorted(MEMBERS), 'every member got post 3')
        m = re.search(r'post 3 \((\w+)\)', s.log())
        qid = m.group(1) if m else 'X'
        keys = re.findall(r'once=news/%s/(d\d+)' % qid, s.log())
        # an agent killed between a copy's commit and its log line leaves
        # no line; the next try then finds the copy queued before
        seen = re.findall(r'list news@localhost: (d\d+) for %s was queued before' % qid,
                          s.log())
        t.is_(len(set(keys) | set(seen)), N, 'every member\'s copy queued (or found queued)')
        t.is_(len(set(keys)), len(keys), 'no copy queued twice')
        t.ok(not re.search(r'post 4 \(', s.log()), 'no new number was given')
        t.diag('post 3: %d remote transactions repeated after the kill' %
               sum(v - 1 for v in got.values()))
t.done()
