#!/usr/bin/env python3
# maildat plugin: SIGHUP reloads mail.dat; a reload with a broken mail.dat
# fails (the errors are logged as FILE:LINE: message) and the previous
# rules keep working.
import os
import re
import signal
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, wait_until, data_code

t = TAP()

V1 = 'Virus:old\nSubject:old-rule\nLevel:100\nVirusEnd:\n'
V2 = 'Virus:new\nSubject:new-rule\nLevel:100\nVirusEnd:\n'
BROKEN = 'Virus:broken\nSubject:new-rule\nLevel:900\nBody:\nx\n'


def code(s, subject):
    return data_code(s, 'd@example.org', ['alice@localhost'],
                     ('Subject: %s\r\n\r\nhi\r\n' % subject).encode())


def reload(s, text, pattern):
    with open(os.path.join(s.etc, 'mail.dat'), 'w') as f:
        f.write(text)
    before = len(re.findall(pattern, s.log()))
    s.signal(signal.SIGHUP)
    return wait_until(lambda: len(re.findall(pattern, s.log())) > before)


def settled(s, subject, want):
    """New workers pick up a generation: ask until the answer is WANT."""
    return wait_until(lambda: code(s, subject) == want, timeout=20, step=0.1)


with Server(conf={'server': {'plugins': 'maildat'}}, accounts={'alice': 'pw'},
            files={'mail.dat': V1}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    t.is_(code(s, 'old-rule'), 550, 'the first rules refuse')

    t.ok(reload(s, V2, r'reloaded configuration, generation'), 'a good reload')
    t.ok(settled(s, 'new-rule', 550), 'the new rules apply after the reload')
    t.is_(code(s, 'old-rule'), 250, 'the old rules are gone')

    t.ok(reload(s, BROKEN, r'reload failed'), "a broken mail.dat: 'reload failed' is logged")
    t.like(s.log(), r'mail\.dat:3: Level must be three digits', 'the error names file and line')
    t.like(s.log(), r"mail\.dat:4: Body: block without BodyEnd:", 'every error is logged')
    t.is_(code(s, 'new-rule'), 550, 'the previous rules keep working')
    t.is_(code(s, 'new-rule again'), 550, 'and keep working on the next session')
    t.ok(s.proc.poll() is None, 'yubind is still running')

    os.unlink(os.path.join(s.etc, 'mail.dat'))
    before = len(re.findall(r'reload failed', s.log()))
    s.signal(signal.SIGHUP)
    t.ok(wait_until(lambda: len(re.findall(r'reload failed', s.log())) > before),
         'a missing mail.dat: the reload fails too')
    t.is_(code(s, 'new-rule'), 550, 'and the previous rules keep working')

t.done()
