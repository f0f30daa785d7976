#!/usr/bin/env python3
# Aliases (issue 6, SEEDS §13): exact aliases with the default rewrite rule
# (same domain: the envelope recipient is kept; other domain: rewritten),
# the explicit ,0 and ,1 flags, "*@domain" catch-alls with and without "*"
# on the right, chains, an alias pointing outside (delivered out through
# gateway.dat without SMTP AUTH), and accounts before catch-alls.  The
# envelope recipient a local delivery keeps shows in "for <...>" of the
# Received header (one recipient per message here).
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, wait_until

t = TAP()
ACC = {'alice': 'pw', 'abcinfo': 'pw', 'catch': 'pw'}
CONF = {'server': {'alias': 'abc.test def.test other.test'}}
ALIASES = """# E-Post alias table
' a seed-style comment
info@abc.test     abcinfo@abc.test
info@def.test     abcinfo@abc.test
sales@def.test    abcinfo@def.test,1
keep@def.test     abcinfo@abc.test,0
Out@abc.test      bob@remote.test
*@other.test      *@abc.test,1
*@abc.test        catch@abc.test
"""


def send(s, rcpt, subject):
    with s.smtp() as c:
        c.ehlo('client.test')
        c.mail('sender@client.test')
        code, msg = c.rcpt(rcpt)
        if code != 250:
            c.rset()
            return code
        c.data(('Subject: %s\r\n\r\nbody\r\n' % subject).encode())
        return code


def received_for(s, account, subject):
    for m in s.mails(account):
        if ('Subject: %s\r\n' % subject).encode() in m or \
           ('Subject: %s\n' % subject).encode() in m:
            r = re.search(rb'for <([^>]*)>', m)
            return r.group(1).decode() if r else None
    return None


with Sink() as sink:
    files = {'alias.dat': ALIASES,
             'gateway.dat': '*,127.0.0.1,%d,tls=none\n' % sink.port}
    with Server(conf=CONF, accounts=ACC, files=files) as s:
        cases = [
            # rcpt, account, envelope recipient kept, why
            ('info@abc.test', 'abcinfo', 'info@abc.test',
             'same domain, no flag: delivered to the real mailbox, recipient kept'),
            ('info@def.test', 'abcinfo', 'abcinfo@abc.test',
             'other domain, no flag: recipient rewritten'),
            ('sales@def.test', 'abcinfo', 'abcinfo@def.test',
             'same domain, ,1: recipient rewritten'),
            ('keep@def.test', 'abcinfo', 'keep@def.test',
             'other domain, ,0: recipient kept'),
            ('INFO@Abc.Test', 'abcinfo', 'INFO@Abc.Test',
             'alias matching ignores case'),
            ('info@other.test', 'abcinfo', 'info@abc.test',
             "catch-all '*' repeats the local part, then the chain goes on"),
            ('nobody@abc.test', 'catch', 'nobody@abc.test',
             'catch-all to a fixed mailbox (same domain: kept)'),
            ('alice@abc.test', 'alice', 'alice@abc.test',
             'an existing account comes before the catch-all'),
        ]
        for i, (rcpt, acct, env_rcpt, why) in enumerate(cases):
            subj = 'case %d' % i
            t.is_(send(s, rcpt, subj), 250, '%s: accepted' % rcpt)
            t.ok(wait_until(lambda: received_for(s, acct, subj) is not None),
                 '%s: in %s' % (why, acct))
            t.is_(received_for(s, acct, subj), env_rcpt, '%s: for <%s>' % (rcpt, env_rcpt))
        t.is_(send(s, 'nobody@def.test', 'x'), 550,
              'a local domain without catch-all: unknown user refused')
        t.is_(send(s, 'x@remote.test', 'x'), 554, 'a remote address is still relay-denied')
        # an alias pointing outside: accepted without AUTH, delivered out
        t.is_(send(s, 'out@abc.test', 'outward'), 250, 'alias to a remote address accepted')
        t.ok(sink.wait(1), 'delivered to the outside real address')
        txn = sink.delivered()[0]
        t.is_(txn['rcpts'], ['bob@remote.test'], 'RCPT TO on the relay is the real address')
        t.like(s.log(), r'rcpt to=<bob@remote\.test> alias=<out@abc\.test> account=-',
               'the log line names both')
        t.ok(wait_until(lambda: s.queue_files() == []), 'queue empty after delivery')
t.done()
