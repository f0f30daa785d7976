#!/usr/bin/env python3
# Signals: SIGHUP during a long session (the session completes, new sessions
# see the new configuration), a broken configuration on reload is refused and
# the old one kept, SIGTERM with sessions in flight finishes them.
import os
import signal
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, Raw, wait_until

t = TAP()

# a SIGHUP the moment the ports file appears must reload, not kill (the
# signals are held until the master's handlers are in)
with Server() as s:
    s.signal(signal.SIGHUP)
    t.ok(s.wait_log('reloaded configuration, generation 1'), 'SIGHUP right after start-up reloads')
    t.is_(s.proc.poll(), None, 'and the master lives')

with Server(accounts={'alice': 'pw'}, conf={'smtp': {'max_recipients': '5'}}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    c = Raw(s.connect('smtp'))
    c.reply()
    c.cmd('EHLO long.test')
    c.cmd('MAIL FROM:<a@example.org>')
    # reload in the middle of the transaction, with a changed limit
    s.sections['smtp']['max_recipients'] = '1'
    s.write_conf(s.sections)
    s.signal(signal.SIGHUP)
    t.ok(s.wait_log('reloaded configuration, generation 1'), 'reload logged')
    code, _ = c.cmd('RCPT TO:<alice@localhost>')
    t.is_(code, 250, 'old session goes on after SIGHUP')
    code, _ = c.cmd('RCPT TO:<alice@localhost>')
    t.is_(code, 250, 'old session keeps its generation (limit 5)')
    c.cmd('DATA')
    c.send('Subject: across reload\r\n\r\nbody\r\n.\r\n')
    code, text = c.reply()
    t.is_(code, 250, 'message accepted across the reload')
    c.cmd('QUIT')
    c.close()
    t.ok(s.wait_mail('alice', 1), 'delivered (a repeated recipient gets one copy)')

    c = Raw(s.connect('smtp'))
    c.reply()
    c.cmd('EHLO new.test')
    c.cmd('MAIL FROM:<a@example.org>')
    c.cmd('RCPT TO:<alice@localhost>')
    code, _ = c.cmd('RCPT TO:<alice@localhost>')
    t.is_(code, 452, 'a new session has the new limit')
    c.cmd('QUIT')
    c.close()

    # broken configuration: refused, old kept
    with open(s.conf_path, 'a') as f:
        f.write('[smtp]\nbogus_key = 1\n')
    s.signal(signal.SIGHUP)
    t.ok(s.wait_log('reload failed; keeping the running configuration'), 'broken reload refused')
    t.like(s.log(), r'yubin\.conf:\d+: .*bogus_key', 'reload error names file:line')
    with s.smtp() as cl:
        code, _ = cl.noop()
        t.is_(code, 250, 'still serving after a failed reload')
    s.write_conf(s.sections)

    # graceful stop with a session in flight
    c = Raw(s.connect('smtp'))
    c.reply()
    c.cmd('EHLO stop.test')
    c.cmd('MAIL FROM:<a@example.org>')
    c.cmd('RCPT TO:<alice@localhost>')
    s.signal(signal.SIGTERM)
    t.ok(s.wait_log('stopping \\(graceful\\)'), 'graceful stop begins')
    code, _ = c.cmd('DATA')
    t.is_(code, 354, 'in-flight session continues during the stop')
    c.send('Subject: during stop\r\n\r\nbody\r\n.\r\n')
    code, _ = c.reply()
    t.is_(code, 250, 'in-flight message accepted')
    c.cmd('QUIT')
    c.close()
    t.is_(s.proc.wait(30), 0, 'master exits 0 after the session ends')
    s.start()
    t.ok(s.wait_mail('alice', 2), 'the message accepted during the stop is delivered')

t.done()
