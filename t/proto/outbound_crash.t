#!/usr/bin/env python3
# The queue manager killed while its delivery agents are in the middle of
# transactions (issue 6): nothing is lost: the restarted queue manager
# delivers every message (at least once: one that reached the peer before
# its report was recorded goes again), and the old agents end instead of
# lingering with their sessions.
import os
import signal
import sys
import threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import (Server, Sink, TAP, proc_alive, proc_ppid, send_authed,
                       wait_until)

t = TAP()
ACC = {'alice': 'pw'}
release = threading.Event()
arrived = []


def data(msg):
    arrived.append(1)
    release.wait(60)            # the agent waits for our reply
    return (250, '2.0.0 queued')


with Sink(data=data) as sink:
    conf = {'queue': {'retry_interval': '1s', 'keep_retry_interval': '1',
                      'delivery_workers': '2', 'destination_concurrency': '2'}}
    with Server(accounts=ACC, conf=conf,
                files={'gateway.dat': 'remote.test,127.0.0.1,%d,tls=none\n' % sink.port}) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
        for who in ('bob', 'carol', 'dave'):
            send_authed(s, 'alice@localhost', ['%s@remote.test' % who],
                        ('Subject: %s\r\n\r\nbody\r\n' % who).encode())
        t.ok(wait_until(lambda: len(arrived) >= 2), 'two agents are inside DATA')
        kids = s.children('queue')
        qmgr = [p for p in kids if proc_ppid(p) == s.pid]
        agents = [p for p in kids if p not in qmgr]
        t.is_(len(qmgr), 1, 'one queue manager')
        t.ok(len(agents) >= 2, 'with its agents')
        os.kill(qmgr[0], signal.SIGKILL)
        t.ok(s.wait_log(r'queue manager pid %d killed by signal 9' % qmgr[0]),
             'the master sees the queue manager die')
        release.set()
        got = lambda: {r for x in sink.delivered() for r in x['rcpts']}
        t.ok(wait_until(lambda: got() == {'bob@remote.test', 'carol@remote.test',
                                          'dave@remote.test'}),
             'every message reaches the peer after the restart')
        t.ok(wait_until(lambda: s.ctl('queue', 'list').stdout == ''), 'and the queue empties')
        t.ok(wait_until(lambda: not any(proc_alive(a) for a in agents)),
             'the old agents are gone')
t.done()
