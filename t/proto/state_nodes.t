#!/usr/bin/env python3
"""Home nodes (DESIGN.md 15): two yubind nodes, A on 127.0.0.2 and B on
127.0.0.3, sharing their state in one throwaway PostgreSQL cluster, each
registered with `yubinctl node add`.

  1. registry: node list shows both with their addresses, state and
     mailbox counts; an account made through B is homed on B;
  2. mail for B's mailbox sent to A is relayed by A to B (authenticated as
     a node with the node key, over STARTTLS) and stored in B's Maildir,
     never in A's;
  3. a POP3 login to A for B's mailbox is carried on to B: STAT, RETR and
     DELE act on B's Maildir; a login to A for A's own mailbox stays on A;
  4. loop guard: a peer node's session may deliver only to mailboxes homed
     on the node it reached (451 4.3.0 for one homed elsewhere, 550 5.7.1
     for a remote address); a wrong node key is refused (535) and XNODE
     with it too; XNODE does not exist without [server] state; a relayed
     message sent again with the same XNODEID (the 250 lost) is stored
     once, and XNODEID outside a node session gets 555;
  5. account move: refused, changing nothing, to a node that does not
     answer, to an unknown node, to its own home and when run on a node
     that is not the home; then amy moves from A to B: her mail is queued
     on A, relayed to B, gone from A, with one trace (Return-Path and
     Delivered-To as at first), and her POP3 logins to A go to B;
     a list made on A (`yubinctl ml` on B refused, naming A) moves to B
     with its definition, members and archive: B writes them out before
     it delivers the next post, which goes on with the next number;
  6. B down: mail for B's mailbox waits in A's queue, a POP3 login to A for
     it answers -ERR [SYS/TEMP]; B back (on new ports, registered again):
     the queued mail arrives after a queue flush, and the login works;
  7. bad input, each changing nothing: a bad node name or address, a
     second node claiming a mailbox (account add), an unknown node to drain, `node` without [server] state, and an account
     added on a draining node.

Loopback only, ports picked by the kernel, no timing thresholds.  Skips
when PostgreSQL is not installed."""

import os
import poplib
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pg_lib import PgCluster, require_postgres  # noqa: E402
from smtp_lib import Session, b64, enhanced  # noqa: E402
from yubintest import Server, TAP, wait_until  # noqa: E402

require_postgres()
t = TAP()

PW = 'Node-Test-Pw-1'
CRASH = re.compile(r'.*(?:\bpid \d+ (?:killed by signal|exit status)|AddressSanitizer'
                   r'|runtime error:|LeakSanitizer).*')


def node(pg_uri, name, addr):
    return Server(conf={'server': {'state': pg_uri, 'node_name': name,
                                   'plugins': 'relay quota ml'},
                        'smtp': {'listen': addr, 'auth_fail_delay': '0',
                                 'auth_penalty_base': '0'},
                        'queue': {'retry_interval': '1h'}},
                  tls=True, start=False)


def register(on, s, name):
    smtp = '%s:%d' % s.addr('smtp')
    pop3 = '%s:%d' % s.addr('pop3')
    return on.ctl('node', 'add', name, smtp, pop3, check=False)


def send(s, rcpt, subject):
    c = Session(s)
    try:
        c.ehlo()
        r = [c.cmd('MAIL FROM:<sender@example.org>'), c.cmd('RCPT TO:<%s>' % rcpt),
             c.cmd('DATA')]
        r.append(c.data(('Subject: %s\r\nFrom: sender@example.org\r\n\r\nbody of %s\r\n'
                         % (subject, subject)).encode()))
        c.cmd('QUIT')
        return r
    finally:
        c.close()


def has(s, account, subject):
    return any(('Subject: %s\n' % subject).encode() in m for m in s.mails(account))


def pop_session(s, user, pw):
    c = s.pop3()
    c.user(user)
    c.pass_(pw)
    return c


def node_key(pg):
    out = pg.sql("SELECT encode(v, 'escape') FROM yubin_kv WHERE k = 'nodekey'::bytea")
    return out.strip()


def run(pg):
    a = node(pg.uri, 'a', '127.0.0.2')
    b = node(pg.uri, 'b', '127.0.0.3')
    nodes = [a, b]
    try:
        a.start()
        b.start()
        t.is_(register(a, a, 'a').returncode, 0, 'node add a')
        t.is_(register(a, b, 'b').returncode, 0, 'node add b (from a)')
        t.is_(a.ctl('account', 'add', 'amy', PW, check=False).returncode, 0,
              'account amy made on a')
        t.is_(b.ctl('account', 'add', 'bob', PW, check=False).returncode, 0,
              'account bob made on b')
        r = b.ctl('node', 'list', check=False)
        lines = dict((ln.split()[0], ln) for ln in r.stdout.splitlines() if ln.strip())
        t.ok(r.returncode == 0 and set(lines) == {'a', 'b'}, 'node list: a and b')
        t.like(lines.get('b', ''), r'smtp=127\.0\.0\.3:\d+ pop3=127\.0\.0\.3:\d+ '
               r'state=active mailboxes=[1-9]', 'b: its addresses, active, its mailboxes')
        t.is_(pg.sql("SELECT encode(v, 'escape') FROM yubin_kv WHERE "
                     "k = 'home/bob'::bytea").strip(), 'b', 'bob is homed on b')

        # 2. relay to the home node
        rep = send(a, 'bob@localhost', 'to-bob-via-a')
        t.is_(rep[3][0], 250, 'a accepts mail for bob')
        t.ok(wait_until(lambda: has(b, 'bob', 'to-bob-via-a'), 30),
             'relayed by a and stored in b\'s Maildir')
        t.ok(not a.mails('bob'), 'nothing for bob in a\'s Maildir')
        t.ok(wait_until(lambda: 'node=a' in b.log(), 5), 'b logged the node session of a')

        # 3. POP3 carried on to the home node
        try:
            c = pop_session(a, 'bob', PW)
            n = c.stat()[0]
            t.is_(n, 1, 'POP3 on a for bob: STAT sees b\'s maildrop')
            body = b'\n'.join(c.retr(1)[1])
            t.ok(b'to-bob-via-a' in body, 'RETR through a returns b\'s message')
            c.dele(1)
            c.quit()
            t.ok(wait_until(lambda: not b.mails('bob'), 10), 'DELE through a removed it on b')
        except (poplib.error_proto, OSError) as e:
            t.ok(False, 'POP3 on a for bob: %r' % (e,))
            t.diag(a.log()[-2000:])
        t.ok(wait_until(lambda: 'pop3 proxy user=bob node=b' in a.log(), 5),
             'a logged the proxied session')
        send(a, 'amy@localhost', 'to-amy')
        t.ok(wait_until(lambda: has(a, 'amy', 'to-amy'), 20), 'amy\'s mail stays on a')
        try:
            c = pop_session(a, 'amy', PW)
            t.is_(c.stat()[0], 1, 'POP3 on a for amy: a\'s own maildrop')
            c.quit()
        except (poplib.error_proto, OSError) as e:
            t.ok(False, 'POP3 on a for amy: %r' % (e,))
        t.ok(not re.search(r'pop3 proxy user=amy', a.log()), 'amy was not proxied')

        # 4. the loop guard and the node key
        key = node_key(pg)
        t.is_(len(key), 64, 'the node key: 64 hex digits')
        c = Session(b)
        try:
            c.ehlo()
            c.cmd('STARTTLS')
        except Exception:
            pass
        c.close()
        # plain AUTH is allowed on loopback: the guard is what is tested here
        c = Session(b)
        try:
            c.ehlo()
            r = c.cmd('AUTH PLAIN ' + b64('\0node:a\0%s' % ('0' * 64)))
            t.is_(r[0], 535, 'a wrong node key: 535')
        finally:
            c.close()
        c = Session(b)
        try:
            c.ehlo()
            r = c.cmd('AUTH PLAIN ' + b64('\0node:a\0%s' % key))
            t.is_(r[0], 235, 'node a with the key: 235')
            c.cmd('MAIL FROM:<sender@example.org>')
            r = c.cmd('RCPT TO:<amy@localhost>')
            t.ok(r[0] == 451 and (enhanced(r[1]) or '').startswith('4.3.0'),
                 'a peer node to b for amy (homed on a): 451 4.3.0 (%s)' % (r,))
            r = c.cmd('RCPT TO:<someone@example.com>')
            t.ok(r[0] == 550 and (enhanced(r[1]) or '') == '5.7.1',
                 'a peer node to a remote address: 550 5.7.1 (%s)' % (r,))
            r = c.cmd('RCPT TO:<bob@localhost>')
            t.is_(r[0], 250, 'a peer node to bob (homed on b): 250')
            c.cmd('QUIT')
        finally:
            c.close()
        # a retry of relayed mail b already queued (its 250 lost) is
        # recognised by XNODEID, the relaying node's queue id: stored once
        for attempt in (1, 2):
            c = Session(b)
            try:
                c.ehlo()
                c.cmd('AUTH PLAIN ' + b64('\0node:a\0%s' % key))
                r = c.cmd('MAIL FROM:<sender@example.org> XNODEID=00C0FFEE00C0FFEE')
                c.cmd('RCPT TO:<bob@localhost>')
                c.cmd('DATA')
                r = c.data(b'Subject: relayed-twice\r\n\r\nsame queue id\r\n')
                t.is_(r[0], 250, 'node a, XNODEID, attempt %d: 250' % attempt)
                c.cmd('QUIT')
            finally:
                c.close()
        t.ok(wait_until(lambda: has(b, 'bob', 'relayed-twice'), 20), 'the relayed mail arrives')
        t.ok(wait_until(lambda: 'queued before, not again' in b.log(), 5),
             'b logged the second attempt as a retry')
        t.is_(sum(1 for m in b.mails('bob') if b'Subject: relayed-twice\n' in m), 1,
              'and stored it once')
        c = Session(b)
        try:
            c.ehlo()
            r = c.cmd('MAIL FROM:<sender@example.org> XNODEID=00C0FFEE00C0FFEE')
            t.ok(r[0] == 555 and 'XNODEID' in r[1],
                 'XNODEID outside a node session: 555 (%s)' % (r,))
        finally:
            c.close()
        p = b.pop3()
        try:
            resp = p._shortcmd('XNODE a %s bob' % ('1' * 64))
            t.ok(False, 'XNODE with a wrong key refused (%s)' % resp)
        except poplib.error_proto as e:
            t.ok(str(e).startswith("b'-ERR"), 'XNODE with a wrong key refused')
        finally:
            try:
                p.quit()
            except (poplib.error_proto, OSError):
                pass

        # 5. account move, with its refusals first
        r = a.ctl('node', 'add', 'z', '127.0.0.9:1', '127.0.0.9:2', check=False)
        t.is_(r.returncode, 0, 'node z registered (nothing listens there)')
        r = b.ctl('account', 'move', 'bob', 'z', check=False)
        t.ok(r.returncode == 1 and 'does not answer' in r.stderr,
             'move to a node that is down: refused (%s)' % r.stderr.strip())
        t.is_(pg.sql("SELECT encode(v, 'escape') FROM yubin_kv WHERE "
                     "k = 'home/bob'::bytea").strip(), 'b', 'and bob is still homed on b')
        r = a.ctl('account', 'move', 'bob', 'a', check=False)
        t.ok(r.returncode == 1 and 'run the move there' in r.stderr,
             'move run on the wrong node: refused')
        r = a.ctl('account', 'move', 'amy', 'nosuch', check=False)
        t.ok(r.returncode == 1 and 'unknown node' in r.stderr, 'move to an unknown node: refused')
        r = a.ctl('account', 'move', 'amy', 'a', check=False)
        t.ok(r.returncode == 1 and 'already' in r.stderr, 'move to its own home: refused')
        t.ok(has(a, 'amy', 'to-amy'), 'amy\'s mail still on a after the refusals')
        r = a.ctl('account', 'move', 'amy', 'b', check=False)
        t.ok(r.returncode == 0 and '1 messages queued' in r.stdout,
             'account move amy b (%s%s)' % (r.stdout.strip(), r.stderr.strip()))
        t.ok(wait_until(lambda: has(b, 'amy', 'to-amy'), 30), 'amy\'s mail reaches b')
        t.ok(not a.mails('amy'), 'and is gone from a')
        moved = [m for m in b.mails('amy') if b'to-amy' in m]
        t.ok(moved and moved[0].count(b'Delivered-To:') == 1 and
             moved[0].startswith(b'Return-Path: <sender@example.org>'),
             'one Return-Path and one Delivered-To, the original sender')
        t.is_(pg.sql("SELECT encode(v, 'escape') FROM yubin_kv WHERE "
                     "k = 'home/amy'::bytea").strip(), 'b', 'amy is homed on b')
        try:
            c = pop_session(a, 'amy', PW)
            t.is_(c.stat()[0], 1, 'POP3 on a for amy is carried on to b now')
            c.quit()
        except (poplib.error_proto, OSError) as e:
            t.ok(False, 'POP3 on a for amy after the move: %r' % (e,))
        r = a.ctl('account', 'move', 'amy', 'b', check=False)
        t.ok(r.returncode == 1, 'the move run again on a: refused, amy is b\'s')

        # 5b. a list moves with its definition, members and archive
        r = a.ctl('ml', 'create', 'news', 'News-Pw-1', 'amy@localhost', check=False)
        t.is_(r.returncode, 0, 'list news made on a') or t.diag(r.stderr)
        t.is_(a.ctl('ml', 'add', 'news', 'bob@localhost', check=False).returncode, 0,
              'bob subscribed')
        t.is_(a.ctl('ml', 'set', 'news', 'save_posts=1', check=False).returncode, 0,
              'save_posts=1')
        r = b.ctl('ml', 'list', 'news', check=False)
        t.ok(r.returncode == 1 and 'homed on node a' in r.stderr,
             'ml list on b for a list homed on a: refused, naming a (%s)' % r.stderr.strip())
        send(b, 'news@localhost', 'list-one')
        t.ok(wait_until(lambda: has(b, 'bob', '[news0001] list-one'), 30),
             'a post sent to b reaches the list on a and its member on b')
        arch_a = os.path.join(a.home, 'mailbox', 'news', 'archive')
        t.ok(os.path.exists(os.path.join(arch_a, '000001')), 'archived on a')
        r = a.ctl('account', 'move', 'news', 'b', check=False)
        t.ok(r.returncode == 0 and 'the list\'s files go with it' in r.stdout,
             'account move news b (%s%s)' % (r.stdout.strip(), r.stderr.strip()))
        t.ok(not os.path.exists(os.path.join(a.home, 'mailbox', 'news', 'ml.def')) and
             not os.path.exists(arch_a), 'the list\'s files are gone from a')
        t.is_(pg.sql("SELECT encode(v, 'escape') FROM yubin_kv WHERE "
                     "k = 'home/news'::bytea").strip(), 'b carry',
              'homed on b, its files on their way')
        send(a, 'news@localhost', 'list-two')
        t.ok(wait_until(lambda: has(b, 'bob', '[news0002] list-two'), 30),
             'the next post, sent to a, is distributed by b with the next number')
        t.is_(pg.sql("SELECT encode(v, 'escape') FROM yubin_kv WHERE "
                     "k = 'home/news'::bytea").strip(), 'b', 'b wrote the files out')
        t.is_(pg.sql("SELECT count(*) FROM yubin_kv WHERE k = 'carry/news'::bytea").strip(),
              '0', 'and the carried record is gone')
        arch_b = os.path.join(b.home, 'mailbox', 'news', 'archive')
        t.ok(os.path.exists(os.path.join(arch_b, '000001')) and
             os.path.exists(os.path.join(arch_b, '000002')),
             'b\'s archive holds the old post and the new one')
        r = b.ctl('ml', 'list', 'news', check=False)
        t.ok(r.returncode == 0 and 'bob@localhost' in r.stdout, 'ml list on b: bob')
        r = a.ctl('ml', 'add', 'news', 'carl@example.org', check=False)
        t.ok(r.returncode == 1 and 'homed on node b' in r.stderr,
             'ml add on a now: refused, naming b')

        # 6. the home node down, then back
        b.stop()
        rep = send(a, 'bob@localhost', 'while-b-down')
        t.is_(rep[3][0], 250, 'b down: a still accepts mail for bob')
        t.ok(wait_until(lambda: 'bob@localhost' in
                        a.ctl('queue', 'list', '--json', check=False).stdout, 10),
             'and keeps it queued')
        try:
            c = pop_session(a, 'bob', PW)
            t.ok(False, 'b down: POP3 for bob on a refused')
            c.quit()
        except poplib.error_proto as e:
            t.ok('[SYS/TEMP]' in str(e), 'b down: POP3 for bob on a: -ERR [SYS/TEMP] (%s)' % e)
        b.start()
        t.is_(register(b, b, 'b').returncode, 0, 'b back on new ports, registered again')
        a.ctl('queue', 'flush', check=False)
        t.ok(wait_until(lambda: has(b, 'bob', 'while-b-down'), 30),
             'the queued mail reaches b')
        try:
            c = pop_session(a, 'bob', PW)
            t.is_(c.stat()[0], len(b.mails('bob')), 'POP3 for bob through a works again')
            c.quit()
        except (poplib.error_proto, OSError) as e:
            t.ok(False, 'POP3 for bob through a again: %r' % (e,))

        # 7. bad input
        r = a.ctl('node', 'add', 'bad name', '127.0.0.9:25', '127.0.0.9:110', check=False)
        t.ok(r.returncode == 1 and 'node name' in r.stderr, 'node add: bad name refused')
        r = a.ctl('node', 'add', 'c', 'mail.example:25', '127.0.0.9:110', check=False)
        t.ok(r.returncode == 1 and 'SMTP address' in r.stderr, 'node add: bad address refused')
        r = a.ctl('account', 'add', 'bob', PW, check=False)
        t.ok(r.returncode == 1 and 'exists' in r.stderr,
             'a second node claiming bob (account add on a): refused (%s)' % r.stderr.strip())
        t.is_(pg.sql("SELECT encode(v, 'escape') FROM yubin_kv WHERE "
                     "k = 'home/bob'::bytea").strip(), 'b', 'and bob is still homed on b')
        r = a.ctl('node', 'drain', 'nosuch', check=False)
        t.ok(r.returncode == 1 and 'unknown node' in r.stderr, 'node drain: unknown node')
        t.ok('\nc ' not in '\n' + a.ctl('node', 'list', check=False).stdout,
             'no node c was made')
        t.is_(a.ctl('node', 'drain', 'a', check=False).returncode, 0, 'node drain a')
        r = a.ctl('account', 'add', 'cal', PW, check=False)
        t.ok(r.returncode == 1 and 'draining' in r.stderr, 'account add on a draining node: refused')
        t.ok('cal' not in a.ctl('account', 'list', check=False).stdout, 'and no account made')
        t.like(a.ctl('node', 'list', check=False).stdout, r'(?m)^a .*state=drain',
               'node list shows a draining')
        for s in nodes:
            t.ok(not [m.group(0) for m in CRASH.finditer(s.log())],
                 '%s: no process died, no sanitizer report' % s.sections['server']['node_name'])
    finally:
        for s in nodes:
            try:
                s.stop()
            except Exception:
                pass
            s.cleanup()


def lone():
    s = Server(tls=False, start=True)
    try:
        r = s.ctl('node', 'list', check=False)
        t.ok(r.returncode == 1 and 'state' in r.stderr, 'node list without [server] state: refused')
        p = s.pop3()
        try:
            p._shortcmd('XNODE a %s postmaster' % ('0' * 64))
            t.ok(False, 'XNODE without state: unknown')
        except poplib.error_proto as e:
            t.ok('unknown command' in str(e), 'XNODE without [server] state: unknown command')
        try:
            p._shortcmd('XNODE a b c d')
            t.ok(False, 'XNODE with four arguments refused')
        except poplib.error_proto as e:
            t.ok('too many arguments' in str(e), 'XNODE with four arguments: too many arguments')
        finally:
            try:
                p.quit()
            except (poplib.error_proto, OSError):
                pass
        sections = {k: dict(v) for k, v in s.sections.items()}
        sections['server']['node_name'] = 'bad name!'
        s.write_conf(sections)
        r = s.ctl('check', 'state', check=False)
        t.ok(r.returncode == 1 and re.search(r'yubin\.conf:\d+: .*node_name', r.stderr),
             'node_name with a space and "!": file:line error (%s)' % r.stderr.strip())
    finally:
        s.stop()
        s.cleanup()


with PgCluster() as pg:
    run(pg)
lone()
t.done()
