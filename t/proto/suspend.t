#!/usr/bin/env python3
# yubinctl suspend / resume (F135): all delivery, local and remote (a
# loopback sink), stops while SMTP keeps answering 250 and queueing; the
# state is kept across a restart and can be changed while yubind is not
# running; resume delivers what waited; yubinctl status says which.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, send_authed, wait_until

t = TAP()
ACC = {'alice': 'pw', 'bob': 'pw'}
KEPT = r'[0-9A-F]{16}: delivery suspended; kept in the queue'


def body(subject):
    return ('Subject: %s\r\n\r\nbody\r\n' % subject).encode()


def count(s, pattern):
    return len(re.findall(pattern, s.log()))


def queued(s):
    return [l.split()[0] for l in s.ctl('queue', 'list').stdout.splitlines()]


with Sink() as sink:
    gw = {'gateway.dat': 'remote.test,127.0.0.1,%d,tls=none\n' % sink.port}
    with Server(accounts=ACC, files=gw) as s:
        t.like(s.ctl('status').stdout, r'(?m)^delivery: on$', 'status: delivery on')
        r = s.ctl('suspend')
        t.is_((r.returncode, r.stdout), (0, 'delivery suspended\n'), 'suspend while running')
        t.ok(s.wait_log(r'delivery suspended; yubinctl resume restarts it'),
             'the queue manager takes it at once')
        t.like(s.ctl('status').stdout, r'(?m)^delivery: suspended$', 'status: delivery suspended')
        t.is_(s.ctl('suspend').returncode, 0, 'suspend twice: fine')

        # SMTP keeps accepting; nothing is delivered
        refused = send_authed(s, 'alice@localhost', ['bob@localhost', 'z@remote.test'], body('one'))
        t.is_(refused, {}, 'SMTP answers 250 while suspended')
        t.ok(wait_until(lambda: count(s, KEPT) >= 1), 'the queue manager keeps it')
        t.is_(s.mails('bob'), [], 'nothing reaches the Maildir')
        t.is_(sink.connections, 0, 'nothing reaches the sink')
        t.is_(len(queued(s)), 1, 'the message waits in the queue')

        # across a restart; changed while yubind is not running
        s.stop()
        r = s.ctl('status', check=False)
        t.ok(r.returncode == 2 and 'not running' in r.stdout and
             re.search(r'(?m)^delivery: suspended$', r.stdout), 'status when stopped: suspended')
        t.is_(s.ctl('resume').returncode, 0, 'resume while not running')
        t.like(s.ctl('status', check=False).stdout, r'(?m)^delivery: on$', 'status: on')
        t.is_(s.ctl('suspend').returncode, 0, 'suspend while not running')
        s.start()
        t.ok(wait_until(lambda: count(s, r'delivery suspended; yubinctl resume restarts it') == 2),
             'after a restart: still suspended')
        refused = send_authed(s, 'alice@localhost', ['bob@localhost', 'z@remote.test'], body('two'))
        t.is_(refused, {}, 'SMTP answers 250 after the restart')
        t.ok(wait_until(lambda: count(s, KEPT) >= 2), 'kept again')
        s.ctl('queue', 'flush')
        t.ok(wait_until(lambda: count(s, KEPT) >= 4), 'a flush delivers nothing either')
        t.is_(s.mails('bob'), [], 'the Maildir is still empty')
        t.is_(sink.connections, 0, 'the sink still untouched')
        t.is_(len(queued(s)), 2, 'both messages wait')

        # resume: what waited is delivered
        r = s.ctl('resume')
        t.is_((r.returncode, r.stdout), (0, 'delivery resumed\n'), 'resume while running')
        t.ok(s.wait_log(r'delivery resumed'), 'the queue manager takes it')
        t.ok(s.wait_mail('bob', 2), 'both local copies delivered')
        t.ok(sink.wait(2), 'both remote copies delivered')
        t.ok(wait_until(lambda: queued(s) == []), 'the queue is empty')
        t.like(s.ctl('status').stdout, r'(?m)^delivery: on$', 'status: delivery on again')
        send_authed(s, 'alice@localhost', ['bob@localhost'], body('three'))
        t.ok(s.wait_mail('bob', 3), 'new mail goes at once')

        # bad usage
        for args in (('suspend', 'extra'), ('resume', 'now')):
            r = s.ctl(*args, check=False)
            t.is_((r.returncode, r.stderr), (1, 'yubinctl: usage: %s\n' % args[0]),
                  '%s: exit 1, one line' % ' '.join(args))
        t.like(s.ctl('status').stdout, r'(?m)^delivery: on$', 'bad usage changed nothing')

t.done()
