#!/usr/bin/env python3
# alias.dat load errors (issue 6): every bad line reported as
# "PATH/alias.dat:LINE: message" by yubind -t (exit 1), loops and over-long
# chains refused at load time, and a bad alias.dat at SIGHUP keeps the
# running table while a good one replaces it.
import os
import re
import signal
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, binary, wait_until

t = TAP()
CONF = {'server': {'alias': 'abc.test def.test'}}


def check(text):
    s = Server(conf=CONF, start=False)
    with open(os.path.join(s.etc, 'alias.dat'), 'w') as f:
        f.write(text)
    r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'],
                       capture_output=True, text=True)
    s.cleanup()
    return r.returncode, r.stderr.replace(s.etc + '/', '')


BAD = """# every line below but the first is wrong
good@abc.test real@abc.test
info abc-info
info@abc.test abc-info
lonely@abc.test
x@abc.test y@abc.test,2
x@nowhere.test y@abc.test
a@abc.test *@abc.test
k@abc.test r@remote.test,0
d@abc.test e@abc.test
D@abc.test f@abc.test
a@b@c x@abc.test
w@abc.test x@* 
m@abc.test n@abc.test too many
"""
code, err = check(BAD)
t.is_(code, 1, 'yubind -t fails on a bad alias.dat')
want = [
    "alias.dat:3: alias 'info' has no domain",
    "alias.dat:4: real address 'abc-info' has no domain",
    "alias.dat:5: missing real address (ALIAS REAL[,FLAG])",
    "alias.dat:6: flag must be 0 or 1",
    "alias.dat:7: alias domain 'nowhere.test' is not a local domain",
    "alias.dat:8: '*' in the real address needs '*' in the alias",
    "alias.dat:9: flag 0 (keep the alias) needs a real address in a local domain: "
    "mail to a remote one must be rewritten to be routed",
    "alias.dat:11: duplicate alias d@abc.test (also line 10)",
    "alias.dat:12: alias 'a@b@c' is not an address",
    "alias.dat:13: real address 'x@*' is not an address",
    "alias.dat:14: junk after the real address",
]
lines = err.splitlines()
for w in want:
    t.ok(w in lines, 'reported: ' + w) or t.diag(err)
t.is_(len([l for l in lines if 'alias.dat:' in l]), len(want), 'nothing else reported')
t.ok(not any(l.startswith('alias.dat:2:') for l in lines), 'the good line is not blamed')

code, err = check('a@abc.test b@abc.test\nb@abc.test a@abc.test\n')
t.is_(code, 1, 'a loop fails the load')
t.ok('alias.dat:1: alias loop: a@abc.test -> b@abc.test -> a@abc.test' in err.splitlines(),
     'loop reported with its path') or t.diag(err)
t.ok('alias.dat:2: alias loop: b@abc.test -> a@abc.test -> b@abc.test' in err.splitlines(),
     'from both of its lines')

code, err = check('*@abc.test *@def.test\n*@def.test *@abc.test\n')
t.is_(code, 1, 'a wildcard loop fails the load')
t.ok('alias.dat:1: alias loop: *@abc.test -> *@def.test -> *@abc.test' in err.splitlines(),
     'wildcard loop reported') or t.diag(err)

code, err = check('*@abc.test *@def.test,1\nx@def.test x@abc.test\n')
t.is_(code, 1, 'a loop through a catch-all and an exact alias fails')
t.like(err, r'alias\.dat:1: alias loop: x@abc\.test -> x@def\.test -> x@abc\.test',
       'found with the exact alias\'s local part')

code, err = check('self@abc.test self@abc.test\n')
t.is_(code, 1, 'an alias to itself is a loop')

chain = ''.join('a%d@abc.test a%d@abc.test\n' % (i, i + 1) for i in range(10))
code, err = check(chain)
t.is_(code, 1, 'a chain longer than ALIAS_DEPTH_MAX fails')
t.like(err, r'alias\.dat:1: alias chain longer than 8: a0@abc\.test -> ', 'and says so')

code, err = check('*@abc.test catch@abc.test\ninfo@abc.test other@abc.test\n'
                  '*@def.test *@abc.test\n')
t.is_(code, 0, 'a catch-all to its own domain and chains through it load') or t.diag(err)

# SIGHUP: a bad file keeps the running table; a good one replaces it
with Server(conf=CONF, accounts={'one': 'pw', 'two': 'pw'},
            files={'alias.dat': 'x@abc.test one@abc.test\n'}) as s:
    with s.smtp() as c:
        t.is_(c.sendmail('a@client.test', ['x@abc.test'], b'Subject: 1\r\n\r\nb\r\n'), {},
              'alias works')
    t.ok(s.wait_mail('one', 1), 'in one')
    path = os.path.join(s.etc, 'alias.dat')
    with open(path, 'w') as f:
        f.write('x@abc.test two@abc.test\nbroken\n')
    s.signal(signal.SIGHUP)
    t.ok(s.wait_log(r'reload: .*alias\.dat:2: '), 'reload reports the bad line')
    t.ok(s.wait_log(r'reload failed; keeping the running configuration'), 'and keeps the old one')
    with s.smtp() as c:
        c.sendmail('a@client.test', ['x@abc.test'], b'Subject: 2\r\n\r\nb\r\n')
    t.ok(s.wait_mail('one', 2), 'old table still in force')
    with open(path, 'w') as f:
        f.write('x@abc.test two@abc.test\n')
    s.signal(signal.SIGHUP)
    t.ok(s.wait_log(r'reloaded configuration, generation'), 'good file reloads')

    def to_two():
        try:
            with s.smtp() as c:
                c.sendmail('a@client.test', ['x@abc.test'], b'Subject: 3\r\n\r\nb\r\n')
        except Exception:
            return False
        return s.wait_mail('two', 1, timeout=2)
    t.ok(wait_until(to_two, timeout=20, step=0.2), 'new table in force after the reload')
t.done()
