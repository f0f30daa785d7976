#!/usr/bin/env python3
# The master prints a dead worker's hook trace from the shared scoreboard,
# which the worker writes: a worker that fills its trace with escape
# sequences and newlines and no NUL, then crashes, gets one bounded,
# printable log line (Issue 12 item 14).
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, Raw, BUILD  # noqa: E402

t = TAP()
conf = {'server': {'plugin_dir': os.path.join(BUILD, 't', 'plugin'),
                   'plugins': 'testhooks'}}
with Server(conf=conf, tls=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    c = Raw(s.connect('smtp'))
    c.reply()
    code, _ = c.cmd('EHLO scribble.hook.test')
    t.is_(code, None, 'the worker died in the hook')
    c.close()
    t.ok(s.wait_log(r'smtp worker pid \d+ killed by signal 11'), 'the master logged the death')
    log = s.log()
    line = re.search(r'[^\n]*smtp worker pid \d+ killed by signal 11[^\n]*', log).group(0)
    t.ok('\x1b' not in log, 'no escape byte reaches the log')
    t.ok('forged' not in log.replace(line, ''), 'no forged line in the log')
    trace = line.split(' in ', 1)[1] if ' in ' in line else ''
    t.ok(0 < len(trace) <= 95, 'the trace is cut at the slot size (%d bytes)' % len(trace))
    with s.smtp() as cl:
        t.is_(cl.noop()[0], 250, 'the next session works')
t.done()
