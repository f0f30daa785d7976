#!/usr/bin/env python3
# yh_copy_add (hook ABI): a copy a plugin adds in the data hook is queued
# with the message, in the same step, when the message is taken, and is
# gone when the message is refused after it was added.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, BUILD, wait_until

t = TAP()
PDIR = os.path.join(BUILD, 't', 'plugin')
ACC = {'alice': 'pw', 'bob': 'pw', 'carol': 'pw'}


def msg(subject, copy_to, data='ok'):
    return ('Subject: %s\r\nFrom: x@example.org\r\nX-Test-Copy: %s\r\n'
            'X-Test-Data: %s\r\n\r\nbody\r\n' % (subject, copy_to, data)).encode()


conf = {'server': {'plugin_dir': PDIR, 'plugins': 'testhooks'}}
with Server(accounts=ACC, conf=conf) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    # taken: the message and its copy, both queued before the 250
    with s.smtp() as c:
        c.sendmail('x@example.org', ['alice@localhost'], msg('one', 'bob@localhost'))
    t.ok(s.wait_mail('alice', 1), 'the message is delivered')
    t.ok(s.wait_mail('bob', 1), 'its copy is delivered')
    t.like(s.mails('bob')[0].decode(), r'(?m)^Subject: copy of one$', 'the copy is the plugin\'s')
    t.like(s.mails('bob')[0].decode(), r'(?m)^Received: by \S+ \(yubin, injected by plugin testhooks\)',
           'with its trace field')
    t.like(s.log(), r'copy \S+ queued with the message nrcpt=1', 'logged with the message')
    # refused after the copy was added: neither is queued
    import smtplib
    try:
        with s.smtp() as c:
            c.sendmail('x@example.org', ['alice@localhost'], msg('two', 'carol@localhost', 'deny'))
        t.ok(False, 'refused')
    except smtplib.SMTPDataError as e:
        t.is_(e.smtp_code, 554, 'the message is refused at DATA')
    t.like(s.log(), r'plugin=testhooks .*copy .*written|copy \S+ written by plugin=testhooks',
           'the copy had been written')
    # a third message proves the queue manager is idle afterwards
    with s.smtp() as c:
        c.sendmail('x@example.org', ['alice@localhost'], msg('three', 'bob@localhost'))
    t.ok(s.wait_mail('alice', 2) and s.wait_mail('bob', 2), 'the next message and copy arrive')
    t.ok(wait_until(lambda: s.queue_files() == []), 'the queue is empty: no copy left behind')
    t.is_(s.mails('carol'), [], 'the refused message\'s copy never arrives')
    t.is_(len(s.mails('alice')), 2, 'nor the refused message')
    # a copy for a local address without an account is refused by the call
    with s.smtp() as c:
        c.sendmail('x@example.org', ['alice@localhost'], msg('four', 'nobody@localhost'))
    t.ok(s.wait_mail('alice', 3), 'the message itself is still taken')
    t.ok(wait_until(lambda: s.queue_files() == []), 'and nothing is left in the queue')
t.done()
