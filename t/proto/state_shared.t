#!/usr/bin/env python3
"""Shared state in PostgreSQL (DESIGN.md 15): two yubind nodes, A on
127.0.0.2 and B on 127.0.0.3, each with its own home, both with
[server] state = the URI of one throwaway PostgreSQL cluster (pg_lib).

  1. accounts: one added through A's yubinctl is listed by B's and logs in
     over POP3 on B and on A; `account passwd` through B changes what A
     accepts within the one second a process keeps an account record (A had
     the old password in its verification cache);
     `account del` through A makes B refuse the login and the recipient;
  2. mail for the account through B is stored in B's Maildir (Maildirs and
     queues stay per node);
  3. counters: the daily send quota (send_max_during_a_day 2) counts one
     mail sent through A and one through B, and both nodes then refuse the
     third (per-node counters would let each node take a second one);
  4. PostgreSQL stopped: A answers RCPT to a local account 4xx with a 4.x.x
     enhanced code, SMTP AUTH 454 4.7.0, a POP3 login -ERR [SYS/TEMP], and
     keeps running; PostgreSQL started again on the same port: the same
     running nodes serve again (polled, no fixed wait);
  5. bad input: `state = mysql://x` is a configuration error with file:line
     (`yubinctl check state` and yubind -t), `postgres://` is a valid
     spelling; a state nobody listens on lets yubind start, and RCPT to a
     local account (one that exists only in the node's LMDB) answers 4xx; a
     schema version above 1 (999) makes a fresh node refuse to start and
     `yubinctl check state` and yubind -t fail, naming the version; with
     version 1 back both pass and the node starts.

The schema itself: table yubin_schema holds one row, version 1; the shared
data is in table yubin_kv.  Loopback only, ports picked by the kernel; no
timing thresholds.  Skips when PostgreSQL is not installed."""

import os
import poplib
import re
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pg_lib import PgCluster, require_postgres  # noqa: E402
from pop3_lib import Pop  # noqa: E402
from smtp_lib import Session, expect, enhanced, b64, message, queued_id  # noqa: E402
from yubintest import Server, TAP, binary, wait_until  # noqa: E402

require_postgres()
t = TAP()

PW1, PW2, PW = 'Shared-Pw-1', 'Shared-Pw-2', 'Node-Pw-3'
AUTH_BAD = '-ERR [AUTH] invalid login'
ACCOUNT_CACHE_S = 1.2     # lib/account.c ACCOUNT_CACHE_MS, and a margin
UNREACHABLE = 'postgresql://yubin@127.0.0.1:1/yubin'
# a worker, the queue manager or another child that died abnormally, or a
# sanitizer report
CRASH = re.compile(r'.*(?:\bpid \d+ (?:killed by signal|exit status)|AddressSanitizer'
                   r'|runtime error:|LeakSanitizer).*')


class Abandon(Exception):
    """A node could not be set up: the rest cannot be tested."""


def node_conf(state, name, addr='127.0.0.1'):
    """The test defaults for node NAME on ADDR; STATE None: LMDB only."""
    server = {'node_name': name}
    if state is not None:
        server['state'] = state
    return {'server': server,
            'smtp': {'listen': addr, 'auth_fail_delay': '0', 'auth_penalty_base': '0',
                     'send_max_during_a_day': '2'}}


def make_node(state, name, addr='127.0.0.1', accounts=None):
    """A Server (home laid out, accounts added, not started), or Abandon."""
    try:
        s = Server(conf=node_conf(state, name, addr), accounts=accounts, tls=False,
                   start=False)
    except RuntimeError as e:
        t.ok(False, 'node %s: yubinctl setup' % name)
        t.diag(str(e))
        raise Abandon()
    s.node = name.upper()
    return s


def start_node(s, name):
    """Start S; a test either way; True when it runs."""
    try:
        s.start()
    except RuntimeError as e:
        t.ok(False, 'node %s starts' % name)
        t.diag(str(e)[-3000:])
        return False
    t.ok(True, 'node %s starts' % name)
    return True


def set_state(s, state):
    """Rewrite S's yubin.conf with [server] state = STATE; returns the
    number of the line it is on."""
    sections = {k: dict(v) for k, v in s.sections.items()}
    sections['server']['state'] = state
    s.write_conf(sections)
    with open(s.conf_path) as f:
        for n, line in enumerate(f, 1):
            if re.match(r'\s*state\s*=', line):
                return n
    return None


def ctl(s, *args):
    """yubinctl on node S; a test that it exited 0."""
    r = s.ctl(*args, check=False)
    # the name without the password
    if not t.is_(r.returncode, 0, '%s: yubinctl %s' % (s.node, ' '.join(args[:3]))):
        t.diag(r.stderr)
    return r


def pop_login(s, user, pw):
    """The answer to PASS on a fresh POP3 connection (QUIT after +OK)."""
    p = Pop(s)
    try:
        r2 = p.login(user, pw)[1] or ''
        if r2.startswith('+OK'):
            p.cmd('QUIT')
        return r2
    finally:
        p.close()


def pop_count(s, user, pw):
    """Messages in USER's maildrop on S as POP3 STAT sees them, or None."""
    try:
        c = s.pop3()
        c.user(user)
        c.pass_(pw)
        n = c.stat()[0]
        c.quit()
        return n
    except (poplib.error_proto, OSError):
        return None


def rcpt(s, addr):
    """(MAIL reply, RCPT reply) of a plain session to S for ADDR."""
    c = Session(s)
    try:
        c.ehlo()
        m = c.cmd('MAIL FROM:<sender@example.org>')
        r = c.cmd('RCPT TO:<%s>' % addr)
        c.cmd('QUIT')
        return m, r
    finally:
        c.close()


def auth(s, user, pw):
    """A session to S after EHLO and AUTH PLAIN: (session, AUTH reply)."""
    c = Session(s)
    c.ehlo()
    return c, c.cmd('AUTH PLAIN ' + b64('\0%s\0%s' % (user, pw)))


def quiet(fn, *args):
    """FN(*ARGS), or None when the connection itself failed."""
    try:
        return fn(*args)
    except (OSError, EOFError, poplib.error_proto):
        return None


def is_temp(reply):
    """A 4xx reply with a 4.x.x enhanced code."""
    code, text = reply
    return code is not None and 400 <= code < 500 and (enhanced(text) or '').startswith('4.')


def crashes(s):
    return [m.group(0) for m in CRASH.finditer(s.log())]


def after_midnight_margin():
    """Wait out the last two minutes of the local day, so that the daily
    counts of section 3 all fall on one day (not a pass criterion)."""
    lt = time.localtime()
    left = 86400 - (lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec)
    if left < 120:
        time.sleep(left + 2)


def run(pg):
    nodes = []
    try:
        a = make_node(pg.uri, 'a', '127.0.0.2')
        nodes.append(a)
        b = make_node(pg.uri, 'b', '127.0.0.3')
        nodes.append(b)
        t.on_fail.append(lambda: t.diag('node a:\n' + a.log()[-3000:] + '\nnode b:\n' +
                                        b.log()[-3000:] + '\npostgres:\n' + pg.log()[-2000:]))
        if not (start_node(a, 'a') & start_node(b, 'b')):
            raise Abandon()
        t.is_((a.addr('smtp')[0], b.addr('smtp')[0], a.addr('pop3')[0], b.addr('pop3')[0]),
              ('127.0.0.2', '127.0.0.3', '127.0.0.2', '127.0.0.3'),
              'A listens on 127.0.0.2, B on 127.0.0.3')
        shared(pg, a, b)
        outage(pg, a, b)
        for s, name in ((a, 'A'), (b, 'B')):
            bad = crashes(s)
            if not t.ok(not bad, '%s: no process died, no sanitizer report' % name):
                t.diag('\n'.join(bad[:10]))
        bad_input(pg)
    finally:
        for s in nodes:
            s.cleanup()


def shared(pg, a, b):
    # the schema -------------------------------------------------------------
    try:
        version = pg.sql('SELECT version FROM yubin_schema')
    except RuntimeError as e:
        version = str(e)
    t.is_(version, '1', 'yubin_schema holds one row, version 1')

    # 1. accounts ------------------------------------------------------------
    t.is_(pop_login(b, 'alice', PW1), AUTH_BAD, 'B: alice unknown before she is added')
    ctl(a, 'account', 'add', 'alice', PW1)
    t.like(b.ctl('account', 'list', check=False).stdout, r'(?m)^alice\t',
           "B's yubinctl account list shows alice, added through A")
    t.like(pop_login(b, 'alice', PW1), r'^\+OK', 'B: alice logs in over POP3')
    t.like(pop_login(a, 'alice', PW1), r'^\+OK', 'A: alice logs in over POP3')
    t.like(pop_login(a, 'alice', PW1), r'^\+OK', 'A: again (now from its cache, if it has one)')
    t.is_(pop_login(b, 'alice', 'not-' + PW1), AUTH_BAD, 'B: a wrong password is refused')
    try:
        rows = int(pg.sql('SELECT count(*) FROM yubin_kv'))
    except (RuntimeError, ValueError) as e:
        t.diag(str(e))
        rows = 0
    t.ok(rows > 0, 'the shared data is in yubin_kv (%d rows)' % rows)

    # 2. mail through B is stored in B's Maildir --------------------------------
    c = Session(b)
    c.ehlo()
    expect(t, c.cmd('MAIL FROM:<sender@example.org>'), 250, '2.1.0', 'B: MAIL')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 250, '2.1.5', 'B: RCPT to alice')
    expect(t, c.cmd('DATA'), 354, '2.0.0', 'B: DATA')
    end = c.data(message('through b', body='token-through-b\r\n'))
    expect(t, end, 250, '2.0.0', 'B: the message is taken')
    t.ok(queued_id(end), 'B: with a queue id')
    c.cmd('QUIT')
    c.close()
    t.ok(b.wait_mail('alice', 1), "B: delivered into B's Maildir for alice")
    t.ok(any(b'token-through-b' in m for m in b.mails('alice')), "B: it is the message sent")
    t.is_(pop_count(b, 'alice', PW1), 1, 'B: POP3 STAT shows it')

    # 1, continued: a password changed through B ------------------------------
    ctl(b, 'account', 'passwd', 'alice', PW2)
    time.sleep(ACCOUNT_CACHE_S)     # past the bound a worker keeps a record
    t.like(pop_login(a, 'alice', PW2), r'^\+OK', 'A: the password set through B works')
    t.is_(pop_login(a, 'alice', PW1), AUTH_BAD, 'A: the old one is refused')
    t.like(pop_login(b, 'alice', PW2), r'^\+OK', 'B: the new password works there too')

    # ... and the account removed through A
    ctl(a, 'account', 'del', 'alice')
    time.sleep(ACCOUNT_CACHE_S)
    t.is_(pop_login(b, 'alice', PW2), AUTH_BAD, 'B: alice, removed through A, is refused')
    t.is_(pop_login(a, 'alice', PW2), AUTH_BAD, 'A: and on A')
    expect(t, rcpt(b, 'alice@localhost')[1], 550, '5.1.1', 'B: RCPT to alice: 550 5.1.1')
    t.ok(not re.search(r'(?m)^alice\t', b.ctl('account', 'list', check=False).stdout),
         "B's account list no longer shows alice")

    # 3. a shared counter: the daily send quota (2) --------------------------------
    ctl(a, 'account', 'add', 'carol', PW)
    ctl(a, 'account', 'add', 'rcv', PW)
    after_midnight_margin()

    def send_one(s, name):
        c, r = auth(s, 'carol', PW)
        expect(t, r, 235, '2.7.0', name + ': AUTH as carol')
        expect(t, c.cmd('MAIL FROM:<carol@localhost>'), 250, '2.1.0', name + ': MAIL')
        expect(t, c.cmd('RCPT TO:<rcv@localhost>'), 250, '2.1.5', name + ': RCPT')
        expect(t, c.cmd('DATA'), 354, '2.0.0', name + ': DATA')
        t.ok(queued_id(c.data(message('daily', sender='carol@localhost',
                                      to='rcv@localhost'))), name + ': queued')
        c.cmd('QUIT')
        c.close()

    def refused(s, name):
        c, r = auth(s, 'carol', PW)
        expect(t, r, 235, '2.7.0', name + ': AUTH as carol')
        expect(t, c.cmd('MAIL FROM:<carol@localhost>'), 450, '4.7.1', name,
               text=r'daily sending limit reached')
        c.cmd('QUIT')
        c.close()

    send_one(a, 'A: carol #1')
    send_one(b, 'B: carol #2')
    refused(b, 'B: carol #3 refused, the mail sent through A counted')
    refused(a, 'A: carol #3 refused, the mail sent through B counted')


def outage(pg, a, b):
    # 4. PostgreSQL stopped while both nodes run ------------------------------------
    ctl(a, 'account', 'add', 'erin', PW)        # never used before the outage
    pg.stop()
    m, r = rcpt(a, 'erin@localhost')
    if not t.ok(is_temp(r), 'PostgreSQL down: A answers RCPT to a local account 4xx 4.x.x'):
        t.diag('MAIL: %r' % (m,))
        t.diag('RCPT: %r' % (r,))
    c, r = auth(a, 'erin', PW)
    expect(t, r, 454, '4.7.0', 'PostgreSQL down: A answers AUTH 454 4.7.0')
    c.close()
    t.like(pop_login(a, 'erin', PW), r'^-ERR \[SYS/TEMP\] ',
           'PostgreSQL down: A answers a POP3 login -ERR [SYS/TEMP]')
    t.ok(a.proc.poll() is None and b.proc.poll() is None, 'both yubind still run')

    pg.start()
    t.ok(wait_until(lambda: (quiet(rcpt, a, 'erin@localhost') or ((0, ''), (0, '')))[1][0]
                    == 250, timeout=60),
         'PostgreSQL back: A accepts RCPT to erin again')
    t.ok(wait_until(lambda: (quiet(pop_login, a, 'erin', PW) or '').startswith('+OK'),
                    timeout=60), 'A: POP3 login works again')
    # each process tries PostgreSQL again at most once a second: the
    # worker that answers may still be in its pause
    def auth_code():
        c, r = auth(a, 'erin', PW)
        c.close()
        return r[0]
    t.ok(wait_until(lambda: quiet(auth_code) == 235, timeout=60),
         'A: SMTP AUTH works again')
    t.ok(wait_until(lambda: (quiet(rcpt, b, 'erin@localhost') or ((0, ''), (0, '')))[1][0]
                    == 250, timeout=60), 'B: accepts RCPT to erin')
    t.ok(wait_until(lambda: (quiet(pop_login, b, 'erin', PW) or '').startswith('+OK'),
                    timeout=60), 'B: POP3 login works')
    t.ok(a.proc.poll() is None and b.proc.poll() is None,
         'the same yubind processes served again, no restart')


def bad_input(pg):
    # 5a. a state that is not PostgreSQL ----------------------------------------------
    s = make_node(None, 'c')
    try:
        line = set_state(s, 'mysql://x')
        where = re.escape(s.conf_path) + r':%d: ' % line
        r = s.ctl('check', 'state', check=False)
        t.ok(r.returncode != 0, 'state = mysql://x: yubinctl check state exits non-zero (%d)'
             % r.returncode)
        if not t.like(r.stderr, where + r'.*state', 'and names the file, line %d and state'
                      % line):
            t.diag(r.stderr)
        r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True,
                           text=True, env=s.env, timeout=120)
        t.is_(r.returncode, 1, 'state = mysql://x: yubind -t exits 1')
        if not t.like(r.stderr, where + r'.*state', 'and names the file, line and state'):
            t.diag(r.stderr)
        set_state(s, 'postgres://yubin@127.0.0.1:%d/yubin' % pg.port)
        r = s.ctl('check', 'state', check=False)
        if not t.is_(r.returncode, 0, 'state = postgres://...: yubinctl check state passes'):
            t.diag(r.stderr)
        r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True,
                           text=True, env=s.env, timeout=120)
        if not t.is_(r.returncode, 0, 'state = postgres://...: yubind -t passes'):
            t.diag(r.stderr)
    finally:
        s.cleanup()

    # 5b. nothing listening at the URI --------------------------------------------------
    s = make_node(None, 'd', accounts={'frank': PW})    # frank is only in the LMDB
    try:
        set_state(s, UNREACHABLE)
        if start_node(s, 'd (state: nothing listening)'):
            m, r = rcpt(s, 'frank@localhost')
            if not t.ok(is_temp(r), 'node d: RCPT to a local account answers 4xx 4.x.x'):
                t.diag('MAIL: %r' % (m,))
                t.diag('RCPT: %r' % (r,))
            t.ok(s.proc.poll() is None, 'node d: still running')
    finally:
        s.cleanup()

    # 5c. a schema newer than this yubind -------------------------------------------
    s = make_node(pg.uri, 'e')          # laid out while the schema is 1
    try:
        pg.sql('UPDATE yubin_schema SET version = 999')
        try:
            s.start()
            started = True
        except RuntimeError:
            started = False
        code = s.proc.poll() if s.proc else None
        if not t.ok(not started and code is not None and code != 0,
                    'schema version 999: a fresh node refuses to start (exit %r)' % code):
            s.stop()
        said = [l for l in s.log().splitlines() if 'schema' in l.lower() and '999' in l]
        if not t.ok(said, 'and says which schema version it found'):
            t.diag(s.log()[-2000:])
        r = s.ctl('check', 'state', check=False)
        t.ok(r.returncode != 0, 'schema version 999: yubinctl check state fails (%d)'
             % r.returncode)
        if not t.ok(re.search(r'(?i)schema.*999|999.*schema', r.stderr),
                    'and names the schema version'):
            t.diag(r.stderr)
        r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True,
                           text=True, env=s.env, timeout=120)
        t.is_(r.returncode, 1, 'schema version 999: yubind -t exits 1')
        if not t.ok(re.search(r'(?i)schema.*999|999.*schema', r.stderr),
                    'and names the schema version'):
            t.diag(r.stderr)
        pg.sql('UPDATE yubin_schema SET version = 1')
        r = s.ctl('check', 'state', check=False)
        if not t.is_(r.returncode, 0, 'schema version 1 back: yubinctl check state passes'):
            t.diag(r.stderr)
        start_node(s, 'e, with schema version 1 back,')
    finally:
        try:
            pg.sql('UPDATE yubin_schema SET version = 1')
        except RuntimeError:
            pass
        s.cleanup()


with PgCluster() as pg:
    try:
        run(pg)
    except Abandon:
        t.diag('a node could not be set up; the remaining checks were not run')
    except Exception:
        t.ok(False, 'the test ran to its end')
        t.diag(traceback.format_exc())
        t.diag('postgres:\n' + pg.log()[-2000:])
t.done()
