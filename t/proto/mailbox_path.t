#!/usr/bin/env python3
# server.mailbox_path templates (F019, SEEDS §4.6): "%HOME%/boxes/%USERNAME%"
# puts each account's folder in HOME/boxes/NAME, and "account add",
# delivery, POP3, "yubinctl mailbox" (counters, messages, remove), list
# creation and "account del" all find it there; a path without
# %USERNAME% is the root (ROOT/NAME); an unknown %VAR% or %USERNAME%
# anywhere but the end is a configuration error with file:line.
import os
import re
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, binary  # noqa: E402

t = TAP()


def files_in(maildir):
    out = []
    for sub in ('new', 'cur'):
        p = os.path.join(maildir, sub)
        if os.path.isdir(p):
            out += [os.path.join(p, n) for n in sorted(os.listdir(p))]
    return out


def wait_files(maildir, n):
    import time
    deadline = time.time() + 20
    while time.time() < deadline:
        if len(files_in(maildir)) >= n:
            return True
        time.sleep(0.02)
    return False


def exercise(s, root, label):
    md = os.path.join(root, 'alice', 'Maildir')
    t.ok(os.path.isdir(md), '%s: account add made %s' % (label, md))
    t.ok(not os.path.exists(os.path.join(s.home, 'mailbox', 'alice')),
         '%s: nothing in HOME/mailbox' % label)
    with s.smtp() as c:
        c.sendmail('x@example.org', ['alice@localhost'],
                   b'Subject: templated\r\n\r\nhello there\r\n')
    t.ok(wait_files(md, 1), '%s: delivered into the templated folder' % label)
    p = s.pop3()
    p.user('alice')
    p.pass_('pw')
    t.is_(p.stat()[0], 1, '%s: POP3 sees the message' % label)
    resp, lines, _ = p.retr(1)
    t.ok(b'hello there' in b'\n'.join(lines), '%s: POP3 RETR reads it' % label)
    p.quit()
    r = s.ctl('mailbox', 'alice', check=False)
    t.like(r.stdout, r'mails=1 ', '%s: yubinctl mailbox counts it' % label)
    r = s.ctl('mailbox', '--recount', 'alice', check=False)
    t.like(r.stdout, r'mails=1 ', '%s: --recount reads the templated folder' % label)
    r = s.ctl('mailbox', 'alice', 'messages', check=False)
    t.like(r.stdout, r' templated$', '%s: mailbox messages lists it' % label)
    uidl = r.stdout.split()[0] if r.stdout else 'x'
    r = s.ctl('mailbox', 'alice', 'remove', uidl, check=False)
    t.is_(r.returncode, 0, '%s: mailbox remove' % label) or t.diag(r.stderr)
    t.is_(files_in(md), [], '%s: removed from the templated folder' % label)
    r = s.ctl('ml', 'create', 'news', 'pw', 'alice@localhost', check=False)
    t.is_(r.returncode, 0, '%s: ml create' % label) or t.diag(r.stderr)
    t.ok(os.path.isdir(os.path.join(root, 'news')), '%s: the list folder is there too' % label)
    r = s.ctl('account', 'del', 'alice', check=False)
    t.is_(r.returncode, 0, '%s: account del' % label) or t.diag(r.stderr)
    t.ok(not os.path.exists(os.path.join(root, 'alice')), '%s: folder removed' % label)


with Server(accounts={'alice': 'pw'},
            conf={'server': {'mailbox_path': '%HOME%/boxes/%USERNAME%',
                             'plugins': 'relay quota ml'}}) as s:
    exercise(s, os.path.join(s.home, 'boxes'), '%HOME%/boxes/%USERNAME%')
    r = s.ctl('config', check=False)
    t.like(r.stdout, r'(?m)^mailbox_path = %HOME%/boxes/%USERNAME%(  #.*)?$',
           'config prints the template as written')

with Server(accounts={'alice': 'pw'},
            conf={'server': {'mailbox_path': '%HOME%/../flat',
                             'plugins': 'relay quota ml'}}) as s:
    exercise(s, os.path.join(s.home, '..', 'flat'), 'no %USERNAME%')

# configuration errors
s = Server(start=False)
for value, why in (('%HOME%/%MAILBOX%/%USERNAME%', r'unknown variable %MAILBOX%'),
                   ('%HOME%/%USERNAME%/Maildir', r'%USERNAME% must be the last folder')):
    sec = s.sections
    sec['server']['mailbox_path'] = value
    s.write_conf(sec)
    r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True,
                       text=True)
    t.is_(r.returncode, 1, 'mailbox_path = %s: yubind -t exits 1' % value)
    t.like(r.stderr, r'yubin\.conf:\d+: .*' + why, 'with file:line and why')
s.cleanup()

t.done()
