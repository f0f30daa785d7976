#!/usr/bin/env python3
# Durability (DESIGN §4): kill -9 a worker mid-DATA (nothing stored, the
# client sees the drop, the next session works); kill -9 the queue manager
# and the whole tree right after a 250 (the mail arrives after restart,
# exactly once).
import os
import signal
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, Raw, server_pid_for, wait_until

t = TAP()
MSG = b'Subject: durable\r\n\r\nline one\r\nline two\r\n'

with Server(accounts={'alice': 'pw'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))

    # 1. worker killed in the middle of DATA
    c = Raw(s.connect('smtp'))
    c.reply()
    c.cmd('EHLO crash.test')
    c.cmd('MAIL FROM:<a@example.org>')
    c.cmd('RCPT TO:<alice@localhost>')
    code, _ = c.cmd('DATA')
    t.is_(code, 354, 'DATA started')
    c.send('Subject: half\r\n\r\nfirst half of the body\r\n')
    pid = wait_until(lambda: server_pid_for(c.sock))
    t.ok(pid and pid != s.pid, 'found the worker serving the session')
    os.kill(pid, signal.SIGKILL)
    code, text = c.reply()
    t.is_(code, None, 'the client sees the connection drop')
    c.close()
    t.ok(s.wait_log(r'smtp worker pid %d killed by signal 9' % pid), 'the master logs the dead worker')
    t.is_(s.ctl('queue', 'list').stdout, '', 'nothing queued from the killed session')
    t.is_(len(s.mails('alice')), 0, 'nothing stored')
    with s.smtp() as cl:
        cl.sendmail('a@example.org', ['alice@localhost'], MSG)
    t.ok(s.wait_mail('alice', 1), 'the next session works')

    # 2. queue manager killed right after a 250 (stopped while idle: a
    # process stopped inside an LMDB write would hold up every writer)
    q = wait_until(lambda: s.children('queue'))
    t.ok(q, 'queue manager is running')
    t.ok(wait_until(lambda: s.ctl('queue', 'list').stdout == '' and
                    s.log().rstrip().endswith('removed')), 'queue manager idle')
    os.kill(q[0], signal.SIGSTOP)
    with s.smtp() as cl:
        cl.sendmail('a@example.org', ['alice@localhost'], b'Subject: two\r\n\r\nsecond\r\n')
    t.is_(len(s.mails('alice')), 1, 'queue manager stopped: not delivered yet')
    os.kill(q[0], signal.SIGKILL)
    t.ok(s.wait_mail('alice', 2), 'delivered after the queue manager restarts')
    t.ok(s.wait_log(r'queue manager pid %d killed by signal 9' % q[0]), 'the master logs it')

    # 3. the whole tree killed right after a 250
    q = wait_until(lambda: s.children('queue'))
    wait_until(lambda: s.ctl('queue', 'list').stdout == '' and
               s.log().rstrip().endswith('removed'))
    os.kill(q[0], signal.SIGSTOP)
    with s.smtp() as cl:
        cl.sendmail('a@example.org', ['alice@localhost'], b'Subject: three\r\n\r\nthird\r\n')
    s.kill_tree()
    t.is_(len(s.mails('alice')), 2, 'tree killed before delivery')
    s.start()
    t.ok(s.wait_mail('alice', 3), 'delivered after restart')
    wait_until(lambda: s.ctl('queue', 'list').stdout == '')
    t.is_(s.ctl('queue', 'list').stdout, '', 'queue empty after delivery')
    t.is_(len(s.mails('alice')), 3, 'exactly once')
    bodies = b''.join(s.mails('alice'))
    t.is_(bodies.count(b'Subject: three'), 1, 'the third message exactly once')

t.done()
