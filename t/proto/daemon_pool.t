#!/usr/bin/env python3
# Worker pools: 60 parallel sessions against multiprocessing=20 -- the excess
# get 421 4.7.0 at once, none hang, all accepted mail arrives; POP3 past its
# maximum gets -ERR [SYS/TEMP]; a worker recycles after max_sessions_per_worker.
import os
import socket
import sys
import threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, Raw, wait_until

t = TAP()
N = 60
with Server(accounts={'alice': 'pw'},
            # every client is 127.0.0.1 here: no per-client cap below the pool's
            conf={'smtp': {'multiprocessing': '20', 'min_spare': '2', 'max_spare': '4',
                           'max_connections_per_ip': '20'},
                  'pop3': {'max_processes': '3', 'max_connections_per_ip': '3'},
                  'server': {'max_sessions_per_worker': '3'}}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    conns = []
    greetings = []
    for i in range(N):
        c = Raw(s.connect('smtp', timeout=60))
        conns.append(c)
    lock = threading.Lock()

    def greet(c):
        g = c.reply()
        with lock:
            greetings.append((c, g))

    threads = [threading.Thread(target=greet, args=(c,)) for c in conns]
    for th in threads:
        th.start()
    for th in threads:
        th.join(90)
    t.is_(len(greetings), N, 'every one of %d clients got a greeting (none hang)' % N)
    ok220 = [c for c, g in greetings if g[0] == 220]
    busy = [g for c, g in greetings if g[0] == 421]
    t.is_(len(ok220), 20, 'exactly multiprocessing=20 sessions served at once')
    t.is_(len(busy), N - 20, 'the rest got 421')
    t.ok(all('4.7.0' in g[1] for g in busy), '421 carries 4.7.0')
    sent = 0
    for i, c in enumerate(ok220):
        c.cmd('EHLO client%d.test' % i)
        c.cmd('MAIL FROM:<sender%d@example.org>' % i)
        c.cmd('RCPT TO:<alice@localhost>')
        code, _ = c.cmd('DATA')
        if code == 354:
            c.send('Subject: parallel %d\r\n\r\nbody %d\r\n.\r\n' % (i, i))
            code, _ = c.reply()
            if code == 250:
                sent += 1
        c.cmd('QUIT')
    for c in conns:
        c.close()
    t.is_(sent, 20, 'all 20 served sessions had their mail accepted')
    t.ok(s.wait_mail('alice', 20), 'all accepted mail arrives')
    t.is_(len(s.mails('alice')), 20, 'no duplicates')

    # after the burst the pool serves again
    with s.smtp() as c:
        code, _ = c.noop()
        t.is_(code, 250, 'a new session is served after the burst')

    # recycling: a worker serves max_sessions_per_worker sessions, then exits
    seen = set()
    for i in range(12):
        c = Raw(s.connect('smtp'))
        t_code, _ = c.reply()
        from yubintest import server_pid_for
        seen.add(server_pid_for(c.sock))
        c.cmd('QUIT')
        c.close()
    t.ok(len(seen) >= 4, 'workers are recycled (12 sessions over %d workers)' % len(seen))

    # POP3 past its maximum
    pops = [Raw(s.connect('pop3')) for i in range(6)]
    replies = [p.line() for p in pops]
    t.is_(sum(1 for r in replies if r and r.startswith('+OK')), 3, 'pop3.max_processes=3 sessions served')
    t.ok(all(r.startswith('-ERR [SYS/TEMP]') for r in replies if not r.startswith('+OK')),
         'the rest get -ERR [SYS/TEMP]')
    for p in pops:
        p.close()

t.done()
