#!/usr/bin/env python3
# init_process (issue 14 item 6): each child that can run hooks calls the
# plugins' init_process with its kind, after fork and privilege drop --
# SMTP and POP3 workers, the queue manager, the local delivery agent.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, BUILD  # noqa: E402

t = TAP()
PDIR = os.path.join(BUILD, 't', 'plugin')
conf = {'server': {'plugin_dir': PDIR, 'plugins': 'procinit'}}

with Server(accounts={'alice': 'pw'}, conf=conf) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    with s.smtp() as c:
        c.sendmail('bob@example.org', ['alice@localhost'],
                   b'Subject: hi\r\n\r\nhello\r\n')
    p = s.pop3()
    p.user('alice')
    p.pass_('pw')
    p.quit()
    for kind in ('smtp', 'pop3', 'queue', 'local_agent'):
        t.ok(s.wait_log(r'procinit: init_process %s euid=\d+' % kind),
             'init_process runs in the %s process' % kind)
    if os.geteuid() == 0:
        t.ok(not re.search(r'procinit: init_process \w+ euid=0\b', s.log()),
             'always after the privilege drop')
t.done()
