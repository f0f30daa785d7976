#!/usr/bin/env python3
# The verification cache, shared by every worker: a repeated login with the
# right password is served from it (the log says cache=hit), also by a
# worker that never saw the account; a wrong password never is; a changed
# password makes the old one fail at once.  At most one scrypt per CPU runs
# at a time (HOME/state/kdf.lock), and many logins at once all succeed.
import os
import poplib
import re
import smtplib
import sys
import threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, wait_until  # noqa: E402

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


def hits(s):
    """(pid, user) of every POP3 login the cache answered, and of every one."""
    cached = re.findall(r'pop3\[(\d+)\]: pop3 login user=(\S+) client=\S+ method=\S+ cache=hit',
                        s.log())
    every = re.findall(r'pop3\[(\d+)\]: pop3 login user=(\S+) ', s.log())
    return cached, every


USERS = ['u%d' % i for i in range(6)]
ACCOUNTS = dict((u, 'pw-' + u) for u in USERS)
ACCOUNTS.update(('v%d' % i, 'pw-v%d' % i) for i in range(6))
ACCOUNTS.update({'alice': 'right', 'bob': 'b0b'})
with Server(accounts=ACCOUNTS,
            conf={'pop3': {'min_spare': '4', 'max_spare': '8'},
                  'smtp': {'auth_fail_delay': '0', 'auth_penalty_base': '0'}}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    t.ok(login(s, 'alice', 'right'), 'first login (scrypt)')
    t.is_(hits(s)[0], [], 'not from the cache')
    t.ok(login(s, 'alice', 'right'), 'second login (cached)')
    t.is_(len(hits(s)[0]), 1, 'from the cache')
    t.ok(not login(s, 'alice', 'wrong'), 'a wrong password fails after a cached success')
    t.ok(not login(s, 'alice', 'righ'), 'a prefix of the password fails')
    t.ok(not login(s, 'alice', 'rightx'), 'a longer password fails')

    # six accounts log in at once, five times each (a mailbox takes one
    # session at a time, so each client has its own): they land on several
    # workers, and only the first check of each account runs scrypt
    ok = []

    def many(user, n):
        for _ in range(n):
            ok.append(login(s, user, ACCOUNTS[user]))  # noqa: F821
    th = [threading.Thread(target=many, args=(u, 5)) for u in USERS]
    for x in th:
        x.start()
    for x in th:
        x.join()
    t.ok(len(ok) == 30 and all(ok), '30 logins of 6 accounts at once all succeed')
    cached, every = hits(s)
    mine = [(p, u) for p, u in every if u in USERS]
    t.ok(len(set(p for p, u in mine)) >= 2, 'they were served by %d workers'
         % len(set(p for p, u in mine)))
    firsts = {}
    for p, u in mine:
        firsts.setdefault(u, p)
    t.ok(any(u in firsts and p != firsts[u] for p, u in cached),
         'a worker that never checked an account\'s password answers from the cache')
    n = len([1 for p, u in cached if u in USERS])
    t.ok(n >= 22, '%d of the 30 logins answered from the cache (at most 24: all but '
         'the first of each)' % n)
    lockfile = os.path.join(s.home, 'state', 'kdf.lock')
    t.ok(os.path.exists(lockfile), 'the KDF bound uses HOME/state/kdf.lock')

    # six first logins at once, each a scrypt: never more running than CPUs
    ino = os.stat(lockfile).st_ino
    seen = []
    done = threading.Event()

    def sample():
        while not done.is_set():
            with open('/proc/locks') as f:
                seen.append(sum(1 for line in f if 'OFDLCK' in line and
                                line.split()[5].endswith(':%d' % ino)))
    sampler = threading.Thread(target=sample)
    sampler.start()
    ok = []
    th = [threading.Thread(target=many, args=(u, 1)) for u in ['v%d' % i for i in range(6)]]
    for x in th:
        x.start()
    for x in th:
        x.join()
    done.set()
    sampler.join()
    t.ok(len(ok) == 6 and all(ok), 'six first logins at once succeed')
    t.ok(max(seen) >= 1, 'password checks were seen holding a KDF slot')
    t.ok(max(seen) <= os.cpu_count(), 'never more than %d at once (saw %d)'
         % (os.cpu_count(), max(seen)))

    s.ctl('account', 'passwd', 'alice', 'changed')
    t.ok(not login(s, 'alice', 'right'), 'the old password fails at once after a change')
    t.ok(login(s, 'alice', 'changed'), 'the new one works')
    before = len(hits(s)[0])
    t.ok(login(s, 'alice', 'changed'), 'and again')
    t.is_(len(hits(s)[0]), before + 1, 'from the cache')

    # SMTP AUTH shares it: bob logged in over POP3, then over SMTP
    t.ok(login(s, 'bob', 'b0b'), 'bob over POP3')
    c = s.smtp()
    c.ehlo()
    c.starttls(context=__import__('yubintest').client_tls_context())
    c.ehlo()
    c.login('bob', 'b0b')
    c.quit()
    t.ok(wait_until(lambda: re.search(r'auth ok user=bob mech=\S+ client=\S+ cache=hit', s.log())),
         'SMTP AUTH after a POP3 login is answered from the cache')
t.done()
