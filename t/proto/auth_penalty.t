#!/usr/bin/env python3
"""The login penalty (authpen.c) with its defaults (2 s, doubling, 15 s cap),
smtp.auth_fail_delay 0 so that only the penalty slows an answer.

A guesser on 127.0.0.1 tries wrong passwords for alice: the failed answers
wait 2 s, then (the same password again, after the SMTP workers were
restarted) 2 s without escalation, then three parallel guesses, over SMTP
and POP3 at once, wait 4, 8 and 15 s: one count shared by every session,
worker and protocol.  Meanwhile alice logs in from ::1 (127.0.0.2 without
IPv6) over SMTP and POP3 at once: the account is penalised, but her
correct login is not slowed (the server logs delay=0).  Then a correct
login from 127.0.0.1 still waits the address's 15 s (a hit is not faster
than a miss) and forgives the address.

No timing thresholds: each delay the server logs is one it promised, and
each answer is checked to come no sooner than that (a lower bound), never
within some time."""

import base64
import os
import re
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from relay_lib import all_ports, ipv6_loopback, Client  # noqa: E402
from yubintest import Server, TAP, Raw, wait_until  # noqa: E402

t = TAP()
SLACK = 0.2     # clock granularity: an answer may be timed this much short
V6 = ipv6_loopback()
OTHER = '::1' if V6 else '127.0.0.2'
GUESSER = '127.0.0.1'


def plain(user, pw):
    return base64.b64encode(('\0%s\0%s' % (user, pw)).encode()).decode()


def smtp_try(s, source, user, pw):
    """AUTH PLAIN from SOURCE: (reply code, seconds the answer took)."""
    c = Client(s, source=source)
    try:
        c.ehlo()
        t0 = time.monotonic()
        code, _ = c.cmd('AUTH PLAIN ' + plain(user, pw))
        return code, time.monotonic() - t0
    finally:
        c.close()


def pop3_try(s, source, user, pw):
    """USER/PASS from SOURCE: (True for +OK, seconds PASS took)."""
    v6 = ':' in source
    host, port = [a for a in all_ports(s)['pop3'] if (':' in a[0]) == v6][0]
    r = Raw(socket.create_connection((host, port), timeout=60,
                                     source_address=(source, 0)))
    try:
        r.line()
        r.send('USER %s\r\n' % user)
        r.line()
        t0 = time.monotonic()
        r.send('PASS %s\r\n' % pw)
        line = r.line() or ''
        return line.startswith('+OK'), time.monotonic() - t0
    finally:
        r.close()


def pen_lines(s, client, result):
    """The "auth penalty" log lines for CLIENT and RESULT, as dicts."""
    out = []
    for line in s.log().splitlines():
        m = re.search(r'auth penalty client=(\S+) (.*) result=(\w+)', line)
        if m and m.group(1) == client and m.group(3) == result:
            out.append(dict(kv.split('=', 1) for kv in m.group(2).split()))
    return out


def wait_pen(s, client, result, n):
    return wait_until(lambda: len(pen_lines(s, client, result)) >= n, timeout=30)


listen = '127.0.0.1, ::1' if V6 else '127.0.0.1'
with Server(conf={'smtp': {'auth_fail_delay': '0', 'listen': listen,
                           'min_spare': '4', 'max_spare': '8'},
                  'pop3': {'min_spare': '2', 'max_spare': '4'}},
            accounts={'alice': 'right'}, tls=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-5000:]))

    # 1. the first failure: 2 s -----------------------------------------------
    code, took = smtp_try(s, GUESSER, 'alice', 'wrong1')
    t.is_(code, 535, 'first guess refused')
    t.ok(wait_pen(s, GUESSER, 'failed', 1), 'first guess: penalty logged')
    p = pen_lines(s, GUESSER, 'failed')
    t.is_(p[:1], [{'account': 'alice', 'ip_failures': '1', 'account_failures': '1',
                   'repeat': '0', 'delay': '2'}], 'first guess: count 1, delay 2')
    t.ok(took >= 2 - SLACK, 'first guess answered no sooner than 2 s (%.2f)' % took)

    # 2. SMTP workers restarted; the same wrong password: no escalation -------
    old = set(s.children('smtp'))
    for pid in old:
        os.kill(pid, signal.SIGTERM)
    t.ok(wait_until(lambda: not (old & set(s.children('smtp'))) and s.children('smtp')),
         'SMTP workers replaced')
    code, took = smtp_try(s, GUESSER, 'alice', 'wrong1')
    t.is_(code, 535, 'repeated guess refused')
    t.ok(wait_pen(s, GUESSER, 'failed', 2), 'repeated guess: penalty logged')
    p = pen_lines(s, GUESSER, 'failed')
    t.is_(p[1:2], [{'account': 'alice', 'ip_failures': '1', 'account_failures': '1',
                    'repeat': '1', 'delay': '2'}],
          'repeat after a worker restart: recognised, count stays 1, delay 2')
    t.ok(took >= 2 - SLACK, 'repeat answered no sooner than 2 s (%.2f)' % took)

    # 3. three parallel guesses, SMTP and POP3: 4, 8, 15 s; alice from OTHER --
    results = {}

    def run(name, fn, *args):
        results[name] = fn(*args)

    threads = [threading.Thread(target=run, args=('smtp2', smtp_try, s, GUESSER, 'alice', 'wrong2')),
               threading.Thread(target=run, args=('smtp3', smtp_try, s, GUESSER, 'alice', 'wrong3')),
               threading.Thread(target=run, args=('pop3', pop3_try, s, GUESSER, 'alice', 'wrong4'))]
    for th in threads:
        th.start()
    t.ok(wait_pen(s, GUESSER, 'failed', 5), 'parallel guesses: penalties logged')
    # the account is now penalised (4 failures): alice from another address
    ok_smtp = smtp_try(s, OTHER, 'alice', 'right')
    ok_pop = pop3_try(s, OTHER, 'alice', 'right')
    for th in threads:
        th.join()
    p = pen_lines(s, GUESSER, 'failed')[2:]
    t.is_(sorted(int(x['ip_failures']) for x in p), [2, 3, 4],
          'parallel guesses over SMTP and POP3 share one count: 2, 3, 4')
    delays = sorted(int(x['delay']) for x in p)
    t.is_(delays, [4, 8, 15], 'their delays double to the cap: 4, 8, 15')
    took = sorted(results[k][1] for k in ('smtp2', 'smtp3', 'pop3'))
    t.ok(len(delays) == 3 and all(a >= d - SLACK for a, d in zip(took, delays)),
         'each answered no sooner than its delay (%s)' % ', '.join('%.2f' % x for x in took))
    t.is_([results['smtp2'][0], results['smtp3'][0], results['pop3'][0]],
          [535, 535, False], 'all three refused')

    t.is_(ok_smtp[0], 235, 'alice from %s: SMTP login succeeds' % OTHER)
    t.ok(ok_pop[0], 'alice from %s: POP3 login succeeds' % OTHER)
    q = pen_lines(s, OTHER, 'ok')
    t.is_(len(q), 2, 'alice from %s: the account penalty is seen twice' % OTHER)
    t.ok(len(q) == 2 and all(x['delay'] == '0' and x['ip_failures'] == '0' and
                             x['account_failures'] == '4' for x in q),
         'alice from %s: account penalised, her correct logins not delayed' % OTHER)
    t.is_(pen_lines(s, OTHER, 'failed'), [], 'no failure counted for %s' % OTHER)

    # 4. a correct login from the guessing address still waits ---------------
    code, took = smtp_try(s, GUESSER, 'alice', 'right')
    t.is_(code, 235, 'correct login from the guessing address succeeds')
    t.ok(wait_pen(s, GUESSER, 'ok', 1), 'and its penalty is logged')
    q = pen_lines(s, GUESSER, 'ok')
    t.is_(q[:1], [{'account': 'alice', 'ip_failures': '4', 'account_failures': '4',
                   'forgiven': '1', 'delay': '15'}],
          'waits the address penalty of 15 s, then forgives the address')
    t.ok(took >= 15 - SLACK, 'answered no sooner than 15 s (%.2f)' % took)
    code, took = smtp_try(s, GUESSER, 'alice', 'right')
    t.is_(code, 235, 'the next correct login succeeds')
    q = pen_lines(s, GUESSER, 'ok')
    t.is_(len(q), 2, 'and is logged (the account still has failures)')
    t.is_([x['delay'] for x in q[1:]], ['0'], 'with no delay: the address was forgiven')
t.done()
