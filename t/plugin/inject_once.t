#!/usr/bin/env python3
# yh_inject_once (hook ABI): a message a deliver hook injects with a key is
# queued once for that key, however often the hook runs; the marker is
# written in the transaction that queues the message.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, BUILD, wait_until

t = TAP()
PDIR = os.path.join(BUILD, 't', 'plugin')
ACC = {'alice': 'pw', 'bob': 'pw'}
conf = {'server': {'plugin_dir': PDIR, 'plugins': 'testhooks'}}

with Server(accounts=ACC, conf=conf, start=False) as s:
    rec = os.path.join(s.tmp, 'record')
    s.sections['plugin testhooks'] = {'record': rec}
    s.write_conf(s.sections)
    open(rec, 'w').close()
    os.chmod(rec, 0o666)
    s.start()
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    with s.smtp() as c:
        c.sendmail('x@example.org', ['alice@localhost'],
                   b'Subject: one\r\nX-Test-Once: bob@localhost\r\n\r\nbody\r\n')
    t.ok(s.wait_mail('alice', 1), 'the message is delivered')
    t.ok(s.wait_mail('bob', 1), 'the injected message is delivered')
    t.ok(wait_until(lambda: 'once r1=' in open(rec).read()), 'the hook ran')
    t.like(open(rec).read(), r'(?m)^once r1=0 r2=1$',
           'the first call queues it, the second with the same key does nothing')
    t.is_(len(re.findall(r'injected by plugin=testhooks .* once=', s.log())), 1,
          'one message injected, logged with its key')
    # a second message: another key, another injection
    with s.smtp() as c:
        c.sendmail('x@example.org', ['alice@localhost'],
                   b'Subject: two\r\nX-Test-Once: bob@localhost\r\n\r\nbody\r\n')
    t.ok(s.wait_mail('bob', 2), 'another message, another key: injected again')
    wait_until(lambda: len(s.mails('bob')) > 2, timeout=2)
    t.is_(len(s.mails('bob')), 2, 'never more than one per key')
t.done()
