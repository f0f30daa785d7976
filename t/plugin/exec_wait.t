#!/usr/bin/env python3
"""The exec plugin's process handling (issue 8, SEEDS.md §16.4):
application_cooperation_wait_for_apl_end 1 (the chain waits: the second
program sees the first one's record) and 0 (fire and forget: the second
runs while the first is still blocked), a hanging program killed at
[plugin exec] timeout (SIGTERM, then SIGKILL for one that ignores it) with
the mail kept, [plugin exec] stdin = 1 (the message on standard input) and
max_running (a second program waits for the first to end).  Ordering is
shown by what the programs saw, never by timing."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from prog_lib import (Server, TAP, make_recorder, record, acct_dir, write_def,  # noqa: E402
                      send, gone, wait_until)

t = TAP()


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def pid_of(out, tag):
    p = os.path.join(out, tag + '.pid')
    if not wait_until(lambda: os.path.exists(p) and os.path.getsize(p) > 0):
        return None
    with open(p) as f:
        return int(f.read())


ACCTS = {a: 'pw' for a in ('walt', 'zed', 'hank', 'ivy')}
with Server(accounts=ACCTS, conf={'server': {'plugins': 'exec'}}, start=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-5000:]))
    rec, out = make_recorder(s)
    s.sections['plugin exec'] = {'path': os.path.dirname(rec) + ':/usr/bin:/bin',
                                 'timeout': '2s', 'kill_grace': '1s'}
    s.write_conf(s.sections)
    s.start()

    # wait = 1 (per account, config.def)
    write_def(s, 'walt', 'config.def', 'application_cooperation_wait_for_apl_end=1\n')
    write_def(s, 'walt', 'exec.def', 'bin=rec\nparam1=w1\nparam2=--exit3\n')
    write_def(s, 'walt', 'exec2.def', 'bin=rec\nparam1=w2\nparam2=--look\n')
    send(s, 'x@example.org', ['walt@localhost'], 'Subject: w\r\n\r\nb\r\n')
    r = record(out, 'w2')
    t.ok(r is not None and 'w1.json' in r.get('saw', []),
         'wait=1: exec2.def started after exec.def had finished')
    t.ok(s.wait_log(r'walt/exec\.def: starting program=\S+ wait=1'), 'logged as waited')
    t.ok(s.wait_log(r'walt/exec\.def: program=\S+ exit status 3'), 'and its exit status logged')

    # wait = 0 (server default)
    write_def(s, 'zed', 'exec.def', 'bin=rec\nparam1=z1\nparam2=--wait-go\n')
    write_def(s, 'zed', 'exec2.def', 'bin=rec\nparam1=z2\nparam2=--look\n')
    send(s, 'x@example.org', ['zed@localhost'], 'Subject: z\r\n\r\nb\r\n')
    r2 = record(out, 'z2')
    t.ok(r2 is not None and 'z1.json' not in r2.get('saw', []),
         'wait=0: exec2.def ran while exec.def was still blocked')
    open(os.path.join(out, 'go'), 'w').close()
    r1 = record(out, 'z1')
    t.ok(r1 is not None and 'z2.json' in r1.get('saw', []), 'then exec.def finished')
    t.ok(s.wait_log(r'zed/exec\.def: program=\S+ exit status 0'),
         'a forgotten program is still supervised and logged')

    # a hanging program, killed at the timeout; one that ignores SIGTERM
    write_def(s, 'hank', 'exec.def', 'bin=rec\nparam1=h1\nparam2=--hang\n')
    write_def(s, 'hank', 'exec2.def', 'bin=rec\nparam1=h2\nparam2=--ignore-term\nparam3=--hang\n')
    send(s, 'x@example.org', ['hank@localhost'], 'Subject: h\r\n\r\nb\r\n')
    t.ok(s.wait_mail('hank', 1), 'the mail is stored')
    p1, p2 = pid_of(out, 'h1'), pid_of(out, 'h2')
    t.ok(p1 and p2, 'both hanging programs started')
    t.ok(s.wait_log(r'hank/exec\.def: program=\S+ timed out after 2s; SIGTERM'), 'timeout logged')
    t.ok(s.wait_log(r'hank/exec\.def: program=\S+ killed by signal 15 \(timeout\)'),
         'the first ended by SIGTERM')
    t.ok(s.wait_log(r'hank/exec2\.def: program=\S+ still running; SIGKILL'), 'escalated to SIGKILL')
    t.ok(s.wait_log(r'hank/exec2\.def: program=\S+ killed by signal 9 \(timeout\)'),
         'the second ended by SIGKILL')
    t.ok(wait_until(lambda: not alive(p1) and not alive(p2)), 'both processes are gone')

    # wait = 1 with a hanging program: the delivery goes on after the kill
    write_def(s, 'ivy', 'config.def', 'application_cooperation_wait_for_apl_end=1\n')
    write_def(s, 'ivy', 'exec.def', 'bin=rec\nparam1=i1\nparam2=--hang\n')
    write_def(s, 'ivy', 'exec2.def', 'bin=rec\nparam1=i2\nparam2=--look\n')
    send(s, 'x@example.org', ['ivy@localhost'], 'Subject: i\r\n\r\nb\r\n')
    r = record(out, 'i2')
    t.ok(r is not None and 'i1.pid' in r.get('saw', []), 'wait=1: after the kill the chain goes on')
    send(s, 'x@example.org', ['walt@localhost'], 'Subject: after\r\n\r\nb\r\n')
    t.ok(s.wait_mail('walt', 2), 'and the queue manager keeps delivering')
    t.ok('hook=delivered timed out' not in s.log() and 'treated as DENYSOFT' not in s.log(),
         'the core hook timeout never fired')

with Server(accounts={'sam': 'pw', 'max': 'pw', 'wes': 'pw'},
            conf={'server': {'plugins': 'exec', 'hook_timeout': '5s'}}, start=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-5000:]))
    rec, out = make_recorder(s)
    s.sections['plugin exec'] = {'path': os.path.dirname(rec) + ':/usr/bin:/bin',
                                 'stdin': '1', 'max_running': '1'}
    s.write_conf(s.sections)
    s.start()
    write_def(s, 'sam', 'exec.def', 'bin=%s sin\n' % rec)
    send(s, 'x@example.org', ['sam@localhost'], 'Subject: stdin\r\n\r\nthe body\r\n')
    r = record(out, 'sin')
    t.ok(s.wait_mail('sam', 1), 'stored')
    t.is_((r or {}).get('stdin'), s.mails('sam')[0].decode(),
          'stdin = 1: the stored message on standard input (first form)')

    # wait = 1 with the default [plugin exec] timeout (60s) longer than the
    # hook budget: still waited, the timeout cut to fit server.hook_timeout
    write_def(s, 'wes', 'config.def', 'application_cooperation_wait_for_apl_end=1\n')
    write_def(s, 'wes', 'exec.def', 'bin=rec\nparam1=we1\nparam2=--hang\n')
    write_def(s, 'wes', 'exec2.def', 'bin=rec\nparam1=we2\nparam2=--look\n')
    send(s, 'x@example.org', ['wes@localhost'], 'Subject: w\r\n\r\nb\r\n')
    t.ok(s.wait_log(r'wes/exec\.def: starting program=\S+ wait=1'),
         'wait=1 is honoured with a timeout longer than server.hook_timeout')
    t.ok(s.wait_log(r'wes/exec\.def: program=\S+ timed out after 1s; SIGTERM'),
         'the waited program is cut at what the hook budget leaves')
    r = record(out, 'we2')
    t.ok(r is not None and 'we1.pid' in r.get('saw', []), 'and the chain goes on after it')
    t.ok('treated as DENYSOFT' not in s.log(), 'the core hook timeout never fired')

    write_def(s, 'max', 'exec.def', 'bin=rec\nparam1=m1\nparam2=--wait-go\n')
    write_def(s, 'max', 'exec2.def', 'bin=rec\nparam1=m2\nparam2=--look\n')
    send(s, 'x@example.org', ['max@localhost'], 'Subject: m\r\n\r\nb\r\n')
    t.ok(wait_until(lambda: os.path.exists(os.path.join(out, 'm1.started'))), 'm1 started')
    open(os.path.join(out, 'go'), 'w').close()
    r = record(out, 'm2')
    t.ok(r is not None and 'm1.json' in r.get('saw', []),
         'max_running = 1: the second program started after the first ended')

t.done()
