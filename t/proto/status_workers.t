#!/usr/bin/env python3
"""yubinctl status [--workers] [--count N] (F134, F135): the pools, the
counters and every worker's state and client from the scoreboard yubind
keeps in HOME/run/status: SMTP sessions held in DATA and mid-command and a
POP3 session held in its transaction show up with their states and
address; the counters move after mails; --count 2 prints two snapshots;
bad arguments are refused; a board file anyone may write is not trusted;
a stopped yubind is "not running"."""

import os
import re
import signal
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from yubintest import Raw, Server, TAP, wait_until  # noqa: E402

t = TAP()


def status(s, *args):
    return s.ctl('status', *args, check=False)


def workers(s):
    """{(pool, state, client)} of the worker lines, and the lines."""
    out = status(s, '--workers').stdout
    lines = [l for l in out.splitlines() if l.startswith('worker ')]
    return lines


def has(lines, pool, state, client):
    pat = re.compile(r'^worker (\d+) %s %s %s (\d+)s' % (pool, state, re.escape(client)))
    return [l for l in lines if pat.match(l)]


with Server(accounts={'alice': 'pw'}, conf={'smtp': {'multiprocessing': '6'}}) as s:
    r = status(s)
    t.is_(r.returncode, 0, 'status while running exits 0') or t.diag(r.stderr)
    # the pools fill up just after the start
    ready = r'(?m)^pool smtp: busy 0 idle [1-9].*\npool pop3: busy 0 idle [1-9].*\n' \
        r'pool local: busy 0 idle [1-9]'
    out = wait_until(lambda: (lambda o: o if re.search(ready, o) else None)(status(s).stdout)) \
        or status(s).stdout
    t.like(out, r'(?m)^running pid %d$' % s.pid, 'the master pid')
    t.like(out, r'(?m)^pool smtp: busy 0 idle [1-9]\d* max 6$', 'the smtp pool: busy, idle, max')
    t.like(out, r'(?m)^pool pop3: busy 0 idle [1-9]\d* max \d+$', 'the pop3 pool')
    t.like(out, r'(?m)^pool local: busy 0 idle [1-9]\d* max 4$', 'the local submission pool')
    t.like(out, r'(?m)^connections: smtp 0 submission 0 smtps 0 pop3 0 pop3s 0 local 0 refused 0$',
           'no connection yet')
    t.like(out, r'(?m)^queue: pending 0 delivering 0 oldest 0s$', 'the queue is empty')
    t.like(out, r'(?m)^today: received 0 sent 0 delivered 0 bounced 0 deferred 0 rejected 0$',
           'nothing counted today')
    t.ok('worker ' not in out, 'no worker lines without --workers')
    board = os.path.join(s.home, 'run', 'status')
    st = os.stat(board)
    t.is_((stat.S_IMODE(st.st_mode), st.st_uid), (0o600, os.geteuid()),
          'HOME/run/status: mode 0600, the master\'s user')

    # one SMTP session inside DATA, one halfway through a command line, and
    # a POP3 session logged in and waiting
    a = Raw(s.connect('smtp'))
    t.is_(a.reply()[0], 220, 'session A greeted')
    a.cmd('EHLO a.test')
    a.cmd('MAIL FROM:<x@example.org>')
    a.cmd('RCPT TO:<alice@localhost>')
    t.is_(a.cmd('DATA')[0], 354, 'session A in DATA')
    a.send('Subject: held\r\n\r\nhalf a message')
    b = Raw(s.connect('smtp'))
    t.is_(b.reply()[0], 220, 'session B greeted')
    b.cmd('EHLO b.test')
    b.cmd('MAIL FROM:<x@example.org>')
    t.is_(b.cmd('RCPT TO:<nobody@localhost>')[0], 550, 'session B: unknown recipient refused')
    b.send('NO')
    p = Raw(s.connect('pop3'))
    t.like(p.line(), r'^\+OK', 'POP3 greeted')
    p.send('USER alice\r\n')
    p.line()
    p.send('PASS pw\r\n')
    t.like(p.line(), r'^\+OK', 'POP3 logged in')

    def all_three():
        l = workers(s)
        return l if (has(l, 'smtp', 'data', '127.0.0.1') and
                     has(l, 'smtp', 'command', '127.0.0.1') and
                     has(l, 'pop3', 'transaction', '127.0.0.1') and
                     has(l, 'smtp', 'idle', '-')) else None
    lines = wait_until(all_three)
    t.ok(lines, 'status --workers: smtp data, smtp command, pop3 transaction, each from 127.0.0.1') \
        or t.diag(status(s, '--workers').stdout)
    lines = lines or []
    smtp_kids = set(s.children('smtp'))
    pids = [int(m.split()[1]) for m in has(lines, 'smtp', 'data', '127.0.0.1')]
    t.ok(pids and pids[0] in smtp_kids, 'the DATA worker line names a live SMTP worker pid')
    t.ok(all(re.match(r'^worker \d+ (smtp|pop3|local) [a-z]+ \S+ \d+s( in .*)?$', l) for l in lines),
         'every worker line: pid, pool, state, client, seconds')
    t.ok(has(lines, 'smtp', 'idle', '-'), 'idle workers show no client')
    out = status(s).stdout
    t.like(out, r'(?m)^pool smtp: busy 2 ', 'two smtp workers busy')
    t.like(out, r'(?m)^pool pop3: busy 1 ', 'one pop3 worker busy')
    t.like(out, r'(?m)^connections: smtp 2 submission 0 smtps 0 pop3 1 ', 'sessions counted by listener')
    t.like(out, r'(?m)^today: .* rejected 1$', 'the refused recipient counted')

    # finish them: the message is taken and delivered, the counters move
    a.send('\r\n.\r\n')
    t.is_(a.reply()[0], 250, 'session A: message accepted')
    a.cmd('QUIT')
    b.send('OP\r\n')
    t.is_(b.reply()[0], 250, 'session B: the command completed')
    b.cmd('QUIT')
    p.send('QUIT\r\n')
    p.line()
    for c in (a, b, p):
        c.close()
    t.ok(s.wait_mail('alice', 1), 'the message was delivered')
    want = r'(?m)^today: received 1 sent 0 delivered 1 bounced 0 deferred 0 rejected 1$'
    t.ok(wait_until(lambda: re.search(want, status(s).stdout)), 'today: received 1, delivered 1') \
        or t.diag(status(s).stdout)
    with s.smtp() as c:
        c.sendmail('x@example.org', ['alice@localhost'], b'Subject: two\r\n\r\nbody\r\n')
    t.ok(wait_until(lambda: re.search(r'(?m)^today: received 2 sent 0 delivered 2 ',
                                      status(s).stdout)), 'a second mail counted')
    t.ok(wait_until(lambda: re.search(r'(?m)^pool smtp: busy 0 ', status(s).stdout)),
         'the smtp workers are idle again')

    # a reload lowers a pool maximum: status shows the new one
    sections = {k: dict(v) for k, v in s.sections.items()}
    sections['smtp']['multiprocessing'] = '4'
    s.write_conf(sections)
    s.signal(signal.SIGHUP)
    t.ok(s.wait_log('reloaded configuration'), 'reloaded')
    t.ok(wait_until(lambda: re.search(r'(?m)^pool smtp: busy 0 idle [1-9]\d* max 4$',
                                      status(s).stdout)), 'status shows the new maximum')
    t.like(status(s).stdout, r'(?m)^today: received 2 ', 'the counters survive a reload')

    # --count 2: two snapshots, a second apart, a blank line between
    r = status(s, '--count', '2')
    t.is_(r.returncode, 0, '--count 2 exits 0')
    t.is_(len(re.findall(r'(?m)^running pid \d+$', r.stdout)), 2, '--count 2: two snapshots')
    t.like(r.stdout, r'\n\nrunning pid', 'a blank line between snapshots')
    r = status(s, '--workers', '--count', '2')
    t.is_(len(re.findall(r'(?m)^pool smtp: ', r.stdout)), 2, '--workers --count 2: pools twice')

    # bad arguments: one line, exit 1
    for args, name in ((('--count', '0'), '--count 0'), (('--count', 'x'), '--count x'),
                       (('--count',), '--count without N'), (('--bogus',), 'an unknown option'),
                       (('--count', '99999999999999999999'), 'a huge --count')):
        r = status(s, *args)
        t.is_(r.returncode, 1, 'status %s: exit 1' % name)
        t.is_(len(r.stderr.splitlines()), 1, 'status %s: one line on stderr' % name)

    # a board others could have written is not read
    os.chmod(board, 0o666)
    r = status(s)
    t.is_(r.returncode, 2, 'a board writable by others: exit 2')
    t.like(r.stderr, r'run/status: .*not trusted', 'and says it is not trusted')
    os.chmod(board, 0o600)
    t.is_(status(s).returncode, 0, 'trusted again once 0600')

    s.stop()
    r = status(s, '--workers')
    t.is_(r.returncode, 2, 'status after stop: exit 2')
    t.like(r.stdout, r'(?m)^not running$', 'status after stop: not running')
    t.ok('worker ' not in r.stdout, 'no workers listed when stopped')
    t.ok(not os.path.exists(board), 'the board file is gone after stop')

t.done()
