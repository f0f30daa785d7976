#!/usr/bin/env python3
# Signals: SIGHUP during a long session (the session completes, new sessions
# see the new configuration), a broken configuration on reload is refused and
# the old one kept, SIGTERM with sessions in flight finishes them; SIGUSR1
# (log rotation) with an SMTP transaction and a POP3 session in flight kills
# nobody, and what follows goes to the new log file.
import os
import re
import signal
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, Raw, wait_until, binary, server_pid_for

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


def read(path):
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except OSError:
        return ''


def alive(pid):
    st = read('/proc/%d/stat' % pid)
    return bool(st) and st.rsplit(')', 1)[1].split()[0] != 'Z'


# SIGUSR1: the log file is rotated under a daemon (yubind -f would log to
# stderr, so this one runs detached and logs to HOME/log/yubind.log)
s = Server(accounts={'alice': 'pw'}, conf={'server': {'log': 'file'}}, start=False)
logpath = os.path.join(s.home, 'log', 'yubind.log')
pidfile = os.path.join(s.home, 'run', 'yubind.pid')
t.on_fail.append(lambda: t.diag('old log:\n' + read(logpath + '.0')[-3000:] +
                                '\nnew log:\n' + read(logpath)[-3000:]))
r = subprocess.run([binary('yubind'), '-c', s.conf_path], env=s.env)
t.is_(r.returncode, 0, 'yubind detaches')
t.ok(wait_until(lambda: read(pidfile).strip() and os.path.exists(
    os.path.join(s.home, 'run', 'ports'))), 'pidfile and ports written')
master = int(read(pidfile))
s.ports = Server.read_ports(os.path.join(s.home, 'run', 'ports'))
try:
    c = Raw(s.connect('smtp'))
    c.reply()
    c.cmd('EHLO rotate.test')
    c.cmd('MAIL FROM:<a@example.org>')
    code, _ = c.cmd('RCPT TO:<alice@localhost>')
    t.is_(code, 250, 'SMTP transaction open')
    p = Raw(s.connect('pop3'))
    p.line()
    p.send('USER alice\r\n')
    p.line()
    p.send('PASS pw\r\n')
    t.like(p.line() or '', r'^\+OK', 'POP3 session logged in')
    smtp_pid, pop_pid = server_pid_for(c.sock), server_pid_for(p.sock)
    t.ok(smtp_pid and pop_pid, 'both sessions have a worker')
    os.rename(logpath, logpath + '.0')
    os.kill(master, signal.SIGUSR1)
    t.ok(wait_until(lambda: 'log reopened' in read(logpath)), 'the master reopens the log')
    code, _ = c.cmd('DATA')
    t.is_(code, 354, 'the SMTP session goes on after SIGUSR1')
    c.send('Subject: across rotation\r\n\r\nbody\r\n.\r\n')
    code, text = c.reply()
    t.is_(code, 250, 'message accepted after SIGUSR1')
    m = re.search(r'queued as (\S+)', text)
    qid = m.group(1) if m else 'NONE'
    t.is_(server_pid_for(c.sock), smtp_pid, 'the SMTP worker is the same process')
    p.send('STAT\r\n')
    t.like(p.line() or '', r'^\+OK', 'the POP3 session goes on after SIGUSR1')
    t.is_(server_pid_for(p.sock), pop_pid, 'the POP3 worker is the same process')
    p.send('QUIT\r\n')
    t.like(p.line() or '', r'^\+OK', 'POP3 QUIT ok')
    code, _ = c.cmd('QUIT')
    t.is_(code, 221, 'SMTP QUIT ok')
    c.close()
    p.close()
    t.ok(s.wait_mail('alice', 1), 'the message is delivered')
    t.ok(wait_until(lambda: re.search(r'yubind/smtp\[%d\]: %s: accepted' % (smtp_pid, qid),
                                      read(logpath))),
         'the busy SMTP worker writes to the new log')
    t.ok(wait_until(lambda: re.search(r'yubind/queue\[\d+\]: .*%s' % qid, read(logpath))),
         'the queue manager writes to the new log')
    t.ok(not re.search(r'killed by signal', read(logpath) + read(logpath + '.0')),
         'no process died of the signal')
    t.ok(alive(smtp_pid) and alive(pop_pid), 'both workers live on')
finally:
    os.kill(master, signal.SIGTERM)
    wait_until(lambda: not alive(master), timeout=30)
    s.cleanup()

t.done()
