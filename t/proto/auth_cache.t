#!/usr/bin/env python3
# The per-worker verification cache: a repeated login with the right
# password is served from it, a wrong password never is, and a changed
# password makes the old one fail at once.
import os
import poplib
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP

t = TAP()


def login(s, user, pw):
    p = s.pop3()
    try:
        p.user(user)
        p.pass_(pw)
        p.quit()
        return True
    except poplib.error_proto:
        return False


with Server(accounts={'alice': 'right'}, conf={'pop3': {'min_spare': '1', 'max_spare': '1'},
                                               'smtp': {'auth_fail_delay': '0', 'auth_penalty_base': '0'}}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    t.ok(login(s, 'alice', 'right'), 'first login (scrypt)')
    t.ok(login(s, 'alice', 'right'), 'second login (cached)')
    t.ok(not login(s, 'alice', 'wrong'), 'a wrong password fails after a cached success')
    t.ok(not login(s, 'alice', 'righ'), 'a prefix of the password fails')
    t.ok(not login(s, 'alice', 'rightx'), 'a longer password fails')
    s.ctl('account', 'passwd', 'alice', 'changed')
    t.ok(not login(s, 'alice', 'right'), 'the old password fails at once after a change')
    t.ok(login(s, 'alice', 'changed'), 'the new one works')
t.done()
