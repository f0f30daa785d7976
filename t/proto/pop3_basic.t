#!/usr/bin/env python3
"""POP3 basics (RFC 1939, 2449): greeting, CAPA, USER/PASS, STAT, LIST, UIDL,
TOP and RETR byte-exact for LF and CRLF files with dot-stuffing, errors for
bad message numbers, unknown commands, wrong states, long lines, pipelining."""

import os
import poplib
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pop3_lib import log_clean, Server, TAP, Pop, conf, crlf, put  # noqa: E402

t = TAP()

M1 = b'From: a@example.org\nSubject: one\n\nfirst body\nline two\n'
M2 = b'From: b@example.org\r\nSubject: two\r\n\r\nCRLF body\r\n'
M3 = (b'Subject: dots\n\n.starts with a dot\n..two dots\n.\nmiddle . dot\n'
      b'mixed\r\nends\n\nlast line without newline')
M4 = b''

with Server(conf=conf(), accounts={'alice': 'pw-alice', 'bob': 'pw-bob'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    n1 = os.path.basename(put(s, 'alice', '1700000000A1.0.host,S={S},W={W}', M1))
    n2 = os.path.basename(put(s, 'alice', '1700000000B2.0.host', M2))
    n3 = os.path.basename(put(s, 'alice', '1700000000C3.0.host', M3))
    n4 = os.path.basename(put(s, 'alice', '1700000000D4.0.host,S=0,W=0', M4))
    put(s, 'alice', '.hidden', b'not a message')
    want = [crlf(M1), crlf(M2), crlf(M3), crlf(M4)]

    # greeting and CAPA ------------------------------------------------------
    p = Pop(s)
    t.like(p.greeting, r'^\+OK yubin POP3 ready <\d+\.[0-9a-f]+\.\d+@[^>]+>$',
           'greeting carries an APOP timestamp')
    t.is_(p.cmd('CAPA'), '+OK capability list follows', 'CAPA answers +OK')
    capa = p.multi()
    for c in ('TOP', 'UIDL', 'USER', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING',
              'SASL PLAIN', 'STLS', 'IMPLEMENTATION yubin'):
        t.ok(c in capa, 'CAPA lists %s' % c)
    t.like(p.cmd('STAT'), r'^-ERR ', 'STAT before login: -ERR')
    t.like(p.cmd('PASS pw-alice'), r'^-ERR ', 'PASS before USER: -ERR')
    t.like(p.cmd('FROB'), r'^-ERR unknown command', 'unknown command: -ERR')
    t.like(p.cmd('USER ' + 'x' * 5000), r'^-ERR line too long', 'long line: -ERR')
    t.like(p.cmd('USER'), r'^-ERR ', 'USER without a name: -ERR')
    t.is_(p.cmd('quit'), '+OK yubin POP3 server signing off',
          'QUIT in AUTHORIZATION (lower case verb)')
    t.ok(p.closed(), 'connection closed after QUIT')

    # logins ---------------------------------------------------------------
    p = Pop(s)
    r1, r2 = p.login('alice', 'wrong')
    t.is_(r1, '+OK send PASS', 'USER answers +OK')
    t.is_(r2, '-ERR [AUTH] invalid login', 'wrong password: -ERR [AUTH]')
    r1, r2 = p.login('nosuchuser', 'pw-alice')
    t.is_(r2, '-ERR [AUTH] invalid login', 'unknown user: the same answer')
    p.close()

    c = s.pop3()
    t.like(c.user('alice').decode(), r'^\+OK', 'poplib USER')
    t.like(c.pass_('pw-alice').decode(), r'^\+OK maildrop has 4 messages', 'poplib PASS')
    t.is_(c.stat(), (4, sum(len(w) for w in want)), 'STAT counts and CRLF octets')
    resp, lines, _ = c.list()
    t.is_([l.decode() for l in lines],
          ['%d %d' % (i + 1, len(w)) for i, w in enumerate(want)],
          'LIST sizes are the CRLF sizes')
    t.is_(c.list(3).decode(), '+OK 3 %d' % len(want[2]), 'LIST 3')
    resp, lines, _ = c.uidl()
    uids = [l.decode().split(' ', 1)[1] for l in lines]
    t.is_(uids, [n1, n2, n3, n4], 'UIDL gives the file names')
    t.is_(c.uidl(2).decode(), '+OK 2 ' + n2, 'UIDL 2')
    for i, w in enumerate(want):
        resp, lines, octets = c.retr(i + 1)
        got = b''.join(l + b'\r\n' for l in lines)
        t.is_(got, w, 'RETR %d byte-exact' % (i + 1))
        t.like(resp.decode(), r'^\+OK %d octets' % len(w), 'RETR %d +OK with size' % (i + 1))
    resp, lines, _ = c.top(1, 0)
    t.is_(lines, [b'From: a@example.org', b'Subject: one', b''], 'TOP 1 0: header and blank line')
    resp, lines, _ = c.top(1, 1)
    t.is_(lines, [b'From: a@example.org', b'Subject: one', b'', b'first body'], 'TOP 1 1')
    resp, lines, _ = c.top(2, 100)
    t.is_(b''.join(l + b'\r\n' for l in lines), want[1], 'TOP with more lines than the body')
    resp, lines, _ = c.top(3, 3)
    t.is_(lines, [b'Subject: dots', b'', b'.starts with a dot', b'..two dots', b'.'],
          'TOP 3 3 (un-stuffed by poplib)')
    t.is_(c.noop().decode(), '+OK', 'NOOP')
    for bad, name in (('0', 'zero'), ('5', 'past the end'), ('abc', 'not a number'),
                      ('-1', 'negative'), ('99999999999999999999999', 'huge')):
        try:
            c.retr(bad)
            t.ok(False, 'RETR %s (%s): -ERR' % (bad, name))
        except poplib.error_proto as e:
            t.is_(str(e.args[0].decode()), '-ERR no such message', 'RETR %s (%s): -ERR' % (bad, name))
    c.quit()

    # the wire: dot-stuffing, final CRLF, terminator ---------------------------
    p = Pop(s)
    p.login('alice', 'pw-alice')
    t.like(p.cmd('RETR 3'), r'^\+OK', 'raw RETR 3')
    wire = p.multi_raw()
    stuffed = crlf(M3).replace(b'\r\n.', b'\r\n..')
    t.is_(wire, stuffed + b'.\r\n', 'RETR on the wire: dot-stuffed, CRLF, terminated')
    t.like(p.cmd('RETR 4'), r'^\+OK 0 octets', 'empty message')
    t.is_(p.multi_raw(), b'.\r\n', 'empty message is just the terminator')
    t.like(p.cmd('TOP 1'), r'^-ERR ', 'TOP without a line count: -ERR')
    t.like(p.cmd('TOP 1 x'), r'^-ERR ', 'TOP with a bad line count: -ERR')
    t.like(p.cmd('LIST 1 2'), r'^-ERR ', 'LIST with two arguments: -ERR')
    t.like(p.cmd('USER alice'), r'^-ERR ', 'USER in TRANSACTION: -ERR')
    # pipelining: many commands in one write, answers in order
    p.send('STAT\r\nLIST 1\r\nUIDL 1\r\nNOOP\r\nTOP 2 0\r\n')
    t.like(p.line(), r'^\+OK 4 ', 'pipelined STAT')
    t.like(p.line(), r'^\+OK 1 %d$' % len(want[0]), 'pipelined LIST 1')
    t.is_(p.line(), '+OK 1 ' + n1, 'pipelined UIDL 1')
    t.is_(p.line(), '+OK', 'pipelined NOOP')
    t.like(p.line(), r'^\+OK', 'pipelined TOP')
    t.is_(p.multi(), ['From: b@example.org', 'Subject: two', ''], 'pipelined TOP body')
    t.is_(p.cmd('CAPA'), '+OK capability list follows', 'CAPA in TRANSACTION')
    capa = p.multi()
    t.ok('TOP' in capa and 'UIDL' in capa and 'STLS' not in capa and 'USER' not in capa,
         'CAPA in TRANSACTION: no STLS/USER')
    t.like(p.cmd('QUIT'), r'^\+OK', 'QUIT')
    p.close()

    # too many errors: the server hangs up -------------------------------------
    p = Pop(s)
    got = [p.cmd('BOGUS') for _ in range(10)]
    t.ok(all(g and g.startswith('-ERR') for g in got), 'ten bad commands: ten -ERR')
    t.like(p.line(), r'^-ERR too many errors', 'then a closing -ERR')
    t.ok(p.closed(), 'and the connection is closed')
    p.close()

    t.ok(len(os.listdir(os.path.join(s.maildir('alice'), 'new'))) == 5,
         'nothing was deleted')
    t.ok(s.wait_log(r'pop3 login user=alice client=127\.0\.0\.1 method=user'),
         'login logged')
    t.ok(s.wait_log(r'pop3 quit user=alice retr=\d+ dele=0'), 'quit logged')
    t.ok(not re.search(r'pw-alice', s.log()), 'password never logged')
    log_clean(t, s)
t.done()
