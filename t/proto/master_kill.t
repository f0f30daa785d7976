#!/usr/bin/env python3
# The master SIGKILLed in the middle of remote delivery (yubind started as
# root, so its children change uid, which clears a parent-death signal set
# before the change): the old queue manager and its agents end instead of
# delivering the queue beside the next generation, a new yubind on the same
# home takes over, and the peer gets every message, a message in flight at
# the kill at most twice (SMTP's own window), nothing more.
import fcntl
import os
import signal
import sys
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, proc_alive, send_authed, wait_until

t = TAP()
ACC = {'alice': 'pw'}
release = threading.Event()
arrived = []


def data(msg):
    arrived.append(1)
    release.wait(60)            # the agent waits for our reply
    return (250, '2.0.0 queued')


RCPTS = ['r%d@remote.test' % i for i in range(6)]
with Sink(data=data) as sink:
    conf = {'queue': {'retry_interval': '1s', 'keep_retry_interval': '1',
                      'delivery_workers': '2', 'destination_concurrency': '2'}}
    with Server(accounts=ACC, conf=conf,
                files={'gateway.dat': 'remote.test,127.0.0.1,%d,tls=none\n' % sink.port}) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
        if os.geteuid() != 0:
            t.diag('not root: the children keep their uid; the test still runs')
        for r in RCPTS:
            send_authed(s, 'alice@localhost', [r], ('Subject: %s\r\n\r\nbody\r\n' % r).encode())
        t.ok(wait_until(lambda: len(arrived) >= 2), 'two agents are inside DATA')
        old = s.children('queue')
        t.ok(len(old) >= 3, 'a queue manager and its agents (%d processes)' % len(old))
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait()
        t.ok(wait_until(lambda: not any(proc_alive(p) for p in old), timeout=30),
             'the old queue manager and its agents end with the master')
        release.set()
        got = lambda: [r for x in sink.delivered() for r in x['rcpts']]  # noqa: E731
        time.sleep(1)
        # a queue manager that is somehow still there holds the queue's
        # lock: the new one waits for it instead of delivering beside it
        lock = open(os.path.join(s.home, 'queue', '.lock'), 'r+')
        fcntl.flock(lock, fcntl.LOCK_EX)
        before = len(got())
        s.start()
        t.ok(s.wait_log(r'queue manager: another one still holds .*queue/\.lock; waiting'),
             'a new queue manager waits for the queue lock')
        time.sleep(2)
        t.is_(len(got()), before, 'and delivers nothing meanwhile')
        lock.close()
        t.ok(wait_until(lambda: set(got()) == set(RCPTS), timeout=60),
             'the new generation delivers every message')
        t.ok(wait_until(lambda: s.ctl('queue', 'list').stdout == ''), 'and the queue empties')
        time.sleep(3)
        counts = {r: got().count(r) for r in RCPTS}
        t.ok(all(1 <= c <= 2 for c in counts.values()),
             'each message reached the peer once, or twice if in flight (%s)' % counts)
        t.ok(sum(c - 1 for c in counts.values()) <= 2,
             'at most the two in flight went twice')
        t.is_(len(s.children('queue')) >= 1 and all(
            not proc_alive(p) for p in old), True, 'only the new queue manager runs')
t.done()
